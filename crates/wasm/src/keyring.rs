use rand_core::OsRng;
use serde::Serialize;
use tandem_eth::{eip191, eip712, transaction, TransactionRequest};
use tandem_keys::{AccountInfo, Mnemonic, PrivateKey, SourceId, WordCount};
use wasm_bindgen::prelude::wasm_bindgen;

use crate::error::{address, nfkd, Result};

/// A new recovery phrase of 12 or 24 words from `crypto.getRandomValues`.
#[wasm_bindgen(js_name = generateMnemonic)]
pub fn generate_mnemonic(words: u32) -> Result<String> {
    let wc = WordCount::from_words(words as usize)?;
    Ok(Mnemonic::generate(&mut OsRng, wc).phrase().to_string())
}

/// Checks a phrase a user typed; throws `WordCount`, `UnknownWord` or `Checksum`.
#[wasm_bindgen(js_name = validateMnemonic)]
pub fn validate_mnemonic(phrase: &str) -> Result<()> {
    Mnemonic::parse(phrase).map(drop).map_err(Into::into)
}

/// The device's keyring, held in wasm memory while unlocked.
#[wasm_bindgen]
#[derive(Debug, Default)]
pub struct Keyring {
    pub(crate) inner: tandem_keys::Keyring,
}

/// An account as JS sees it: the address EIP-55 checksummed.
#[derive(Serialize)]
struct AccountJson {
    address: String,
    origin: tandem_keys::AccountOrigin,
}

impl From<AccountInfo> for AccountJson {
    fn from(a: AccountInfo) -> Self {
        Self {
            address: a.address.to_checksum(None),
            origin: a.origin,
        }
    }
}

fn account(a: AccountInfo) -> String {
    json(&AccountJson::from(a))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SignedTxJson {
    raw: String,
    hash: String,
    #[serde(rename = "type")]
    tx_type: u8,
}

#[wasm_bindgen]
impl Keyring {
    /// An empty keyring.
    #[wasm_bindgen(constructor)]
    pub fn new() -> Self {
        Self::default()
    }

    /// A keyring holding one recovery phrase and its first account.
    #[wasm_bindgen(js_name = fromMnemonic)]
    pub fn from_mnemonic(phrase: &str, passphrase: &str) -> Result<Keyring> {
        let m = Mnemonic::parse(phrase)?;
        Ok(Self {
            inner: tandem_keys::Keyring::from_mnemonic(m, &nfkd(passphrase))?,
        })
    }

    /// A keyring holding one imported private key.
    #[wasm_bindgen(js_name = fromPrivateKey)]
    pub fn from_private_key(hex: &str) -> Result<Keyring> {
        let mut k = Self::new();
        k.import_private_key(hex)?;
        Ok(k)
    }

    /// Adds another recovery phrase; returns its first account as JSON.
    #[wasm_bindgen(js_name = addMnemonic)]
    pub fn add_mnemonic(&mut self, phrase: &str, passphrase: &str) -> Result<String> {
        let m = Mnemonic::parse(phrase)?;
        Ok(account(self.inner.add_mnemonic(m, &nfkd(passphrase))?))
    }

    /// Removes an account (never the only one); returns it as JSON.
    #[wasm_bindgen(js_name = removeAccount)]
    pub fn remove_account(&mut self, addr: &str) -> Result<String> {
        Ok(account(self.inner.remove_account(address(addr)?)?))
    }

    /// Imports a private key (hex); returns the account as JSON.
    #[wasm_bindgen(js_name = importPrivateKey)]
    pub fn import_private_key(&mut self, hex: &str) -> Result<String> {
        let key = PrivateKey::from_hex(hex)?;
        Ok(account(self.inner.import_private_key(key)?))
    }

    /// Derives the next account of phrase `source`; returns it as JSON.
    #[wasm_bindgen(js_name = deriveNext)]
    pub fn derive_next(&mut self, source: u32) -> Result<String> {
        Ok(account(self.inner.derive_next(SourceId(source))?))
    }

    /// `[{ address, origin: { kind, source, index? } }]`, addresses EIP-55 checksummed.
    pub fn accounts(&self) -> String {
        json(
            &self
                .inner
                .accounts()
                .map(AccountJson::from)
                .collect::<Vec<_>>(),
        )
    }

    /// The ids of the recovery-phrase sources.
    #[wasm_bindgen(js_name = mnemonicSources)]
    pub fn mnemonic_sources(&self) -> Vec<u32> {
        self.inner.mnemonic_sources().map(|s| s.0).collect()
    }

    /// The backup secret of the first recovery phrase (32 bytes, HKDF over
    /// its seed: `tandem_keys::backup`), or `undefined` for a wallet of
    /// imported keys only. The only thing derived from the seed that leaves
    /// this module; the sync module derives the backup's keys from it.
    /// `generation` (default 0): the backup's generation, which moves on
    /// when a restored browser cuts off the devices from before it.
    #[wasm_bindgen(js_name = backupSecret)]
    pub fn backup_secret(&self, generation: Option<u32>) -> Option<js_sys::Uint8Array> {
        self.inner
            .backup_secret_of(generation.unwrap_or(0))
            .map(|s| js_sys::Uint8Array::from(&s[..]))
    }

    /// `personal_sign`: `message` is `0x` hex (raw bytes) or text. Returns the
    /// 65-byte signature as `0x` hex.
    #[wasm_bindgen(js_name = signPersonal)]
    pub fn sign_personal(&self, addr: &str, message: &str) -> Result<String> {
        let key = self.inner.key(address(addr)?)?;
        Ok(sig_hex(&eip191::sign(key, &eip191::message_bytes(message))))
    }

    /// `eth_signTypedData_v4`: `typed_data` is the JSON (or a JSON string of it).
    #[wasm_bindgen(js_name = signTypedData)]
    pub fn sign_typed_data(&self, addr: &str, typed_data: &str) -> Result<String> {
        let key = self.inner.key(address(addr)?)?;
        let data = eip712::parse(typed_data)?;
        Ok(sig_hex(&eip712::sign(key, &data)?))
    }

    /// Signs a filled transaction request (JSON); returns `{ raw, hash, type }` as JSON.
    #[wasm_bindgen(js_name = signTransaction)]
    pub fn sign_transaction(&self, addr: &str, request: &str) -> Result<String> {
        let key = self.inner.key(address(addr)?)?;
        let req = TransactionRequest::from_json(request)?;
        let signed = transaction::sign(key, &req)?;
        Ok(json(&SignedTxJson {
            raw: signed.raw.to_string(),
            hash: signed.hash.to_string(),
            tx_type: signed.tx_type,
        }))
    }
}

fn sig_hex(sig: &tandem_eth::Signature) -> String {
    format!("0x{}", alloy_primitives::hex::encode(sig.as_bytes()))
}

fn json<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("serializing plain data cannot fail")
}
