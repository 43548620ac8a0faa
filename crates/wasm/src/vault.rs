use rand_core::OsRng;
use tandem_vault::{KdfParams, VaultKey};
use wasm_bindgen::prelude::wasm_bindgen;

use crate::{
    error::{Error, Result},
    Keyring,
};

/// Vault operations on the JSON envelope the extension stores.
#[wasm_bindgen]
#[derive(Debug)]
pub struct Vault;

/// A freshly sealed vault and the key to reopen it without the password.
#[wasm_bindgen]
#[derive(Debug)]
pub struct SealedKeyring {
    vault: String,
    key: VaultKey,
}

#[wasm_bindgen]
impl SealedKeyring {
    /// The vault JSON to store.
    #[wasm_bindgen(getter)]
    pub fn vault(&self) -> String {
        self.vault.clone()
    }

    /// The session key, for memory-only session storage.
    #[wasm_bindgen(getter, js_name = sessionKey)]
    pub fn session_key(&self) -> Vec<u8> {
        self.key.to_bytes().to_vec()
    }
}

/// An unlocked keyring, the vault sealed again under a new data key (to
/// store in place of the one opened) and that key (the session key).
#[wasm_bindgen]
#[derive(Debug)]
pub struct UnlockedKeyring {
    keyring: Option<Keyring>,
    vault: String,
    key: VaultKey,
}

#[wasm_bindgen]
impl UnlockedKeyring {
    /// Moves the keyring out (once).
    #[wasm_bindgen(js_name = takeKeyring)]
    pub fn take_keyring(&mut self) -> Result<Keyring> {
        self.keyring
            .take()
            .ok_or_else(|| Error::invalid("the keyring was already taken"))
    }

    /// The vault JSON to store (the one opened no longer fits the session key).
    #[wasm_bindgen(getter)]
    pub fn vault(&self) -> String {
        self.vault.clone()
    }

    /// The session key, for memory-only session storage: a data key of
    /// this unlock's, not the key derived from the password.
    #[wasm_bindgen(getter, js_name = sessionKey)]
    pub fn session_key(&self) -> Vec<u8> {
        self.key.to_bytes().to_vec()
    }
}

fn kdf_params(json: Option<String>) -> Result<KdfParams> {
    match json {
        None => Ok(KdfParams::default()),
        Some(j) => serde_json::from_str(&j).map_err(|_| {
            Error::invalid(
                "KDF settings are {\"memory_kib\":…, \"iterations\":…, \"parallelism\":…}",
            )
        }),
    }
}

fn session_key(bytes: &[u8]) -> Result<VaultKey> {
    let arr: &[u8; 32] = bytes
        .try_into()
        .map_err(|_| Error::invalid("a session key is 32 bytes"))?;
    Ok(VaultKey::from_bytes(arr))
}

#[wasm_bindgen]
impl Vault {
    /// Encrypts the keyring under `password`. `kdf` is optional JSON
    /// (`{"memory_kib","iterations","parallelism"}`); the default is 64 MiB, 3 passes.
    pub fn seal(keyring: &Keyring, password: &str, kdf: Option<String>) -> Result<SealedKeyring> {
        let (vault, key) = tandem_vault::Vault::seal(
            &mut OsRng,
            password.as_bytes(),
            &keyring.inner.to_bytes(),
            kdf_params(kdf)?,
        )?;
        Ok(SealedKeyring {
            vault: vault.to_json(),
            key,
        })
    }

    /// Decrypts with the password. Throws `WrongPassword` or `Tampered`.
    /// The vault comes back sealed under a new data key (`vault`, to store)
    /// whose key is the session's.
    pub fn unlock(vault: &str, password: &str) -> Result<UnlockedKeyring> {
        let v = tandem_vault::Vault::from_json(vault)?;
        let u = v.unlock(&mut OsRng, password.as_bytes())?;
        Ok(UnlockedKeyring {
            keyring: Some(Keyring {
                inner: tandem_keys::Keyring::from_bytes(&u.plaintext)?,
            }),
            vault: u.vault.to_json(),
            key: u.key,
        })
    }

    /// Decrypts with a session key (after a service-worker restart); throws
    /// `KeyNotCurrent` for a key another unlock replaced.
    pub fn open(vault: &str, session_key_bytes: &[u8]) -> Result<Keyring> {
        let v = tandem_vault::Vault::from_json(vault)?;
        let plain = v.open(&session_key(session_key_bytes)?)?;
        Ok(Keyring {
            inner: tandem_keys::Keyring::from_bytes(&plain)?,
        })
    }

    /// Re-encrypts a changed keyring under the same password; returns the new JSON.
    pub fn reseal(vault: &str, session_key_bytes: &[u8], keyring: &Keyring) -> Result<String> {
        let v = tandem_vault::Vault::from_json(vault)?;
        let next = v.reseal(
            &mut OsRng,
            &session_key(session_key_bytes)?,
            &keyring.inner.to_bytes(),
        )?;
        Ok(next.to_json())
    }

    /// "Show recovery phrase" (`phrase`) or "Export private key" for
    /// `address`: opens the stored vault with `password` (the unlocked
    /// session is not enough) and returns the phrase the account comes from,
    /// or its key as `0x` hex. Throws `WrongPassword` and returns nothing else
    /// when the password is wrong.
    pub fn export(vault: &str, password: &str, address: &str, phrase: bool) -> Result<String> {
        let addr = crate::error::address(address)?;
        let plain = tandem_vault::Vault::from_json(vault)?.read(password.as_bytes())?;
        let keyring = tandem_keys::Keyring::from_bytes(&plain)?;
        Ok(keyring.export(addr, phrase)?.as_str().to_owned())
    }

    /// Checks `old`, then seals the same contents under `new`.
    #[wasm_bindgen(js_name = changePassword)]
    pub fn change_password(
        vault: &str,
        old: &str,
        new: &str,
        kdf: Option<String>,
    ) -> Result<SealedKeyring> {
        let v = tandem_vault::Vault::from_json(vault)?;
        let (vault, key) =
            v.change_password(&mut OsRng, old.as_bytes(), new.as_bytes(), kdf_params(kdf)?)?;
        Ok(SealedKeyring {
            vault: vault.to_json(),
            key,
        })
    }
}
