//! The wallet on this phone: the extension's keyring (`tandem-keys`) in the
//! extension's vault (`tandem-vault`: Argon2id + XChaCha20-Poly1305), so a
//! phone vault and an extension vault are the same format. Pure: randomness
//! and the KDF cost come in as parameters, nothing here touches the page.
//!
//! Every type holding a phrase, a password or keys prints nothing secret in
//! `Debug` and is zeroized when dropped; no error string quotes a secret.

use core::fmt;
use rand_core::CryptoRngCore;
use tandem_confirm::{Sign, SignKind};
use tandem_eth::{eip191, eip712, signature, Address, TransactionRequest};
use tandem_keys::{Keyring, Mnemonic, WordCount};
use tandem_vault::{KdfParams, Vault, VaultKey};
use zeroize::Zeroizing;

/// Lock after this long without a tap or a key press (ms).
pub const AUTO_LOCK_MS: f64 = 5.0 * 60.0 * 1000.0;

/// How many words the user types back after writing a new phrase down.
pub const CONFIRM_WORDS: usize = 3;

/// Text that must not be shown in `Debug` or kept after use (a password, a
/// phrase): zeroized on drop.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    /// Wraps text read from a field.
    pub fn new(s: String) -> Secret {
        Secret(Zeroizing::new(s))
    }

    /// The text, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// A phrase between its creation (or import) and the vault that keeps it.
#[derive(Clone)]
pub struct Draft {
    /// The phrase (zeroized on drop by `bip39`).
    pub mnemonic: Mnemonic,
    /// 0-based positions the user types back (empty for an imported phrase).
    pub positions: Vec<usize>,
}

impl Draft {
    /// The words, in order, for the one screen that shows them.
    pub fn words(&self) -> Vec<&'static str> {
        self.mnemonic.words().collect()
    }

    /// Whether this phrase was made here (and must be confirmed).
    pub fn created(&self) -> bool {
        !self.positions.is_empty()
    }
}

impl fmt::Debug for Draft {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Draft")
            .field("words", &self.mnemonic.word_count())
            .field("positions", &self.positions)
            .finish()
    }
}

/// A new 12-word phrase and the positions to confirm, from the CSPRNG.
pub fn generate(rng: &mut impl CryptoRngCore) -> Draft {
    let mnemonic = Mnemonic::generate(rng, WordCount::Twelve);
    let mut random = [0u8; 2 * CONFIRM_WORDS];
    rng.fill_bytes(&mut random);
    let positions =
        tandem_ui::validate::pick_positions(mnemonic.word_count(), CONFIRM_WORDS, &random);
    Draft {
        mnemonic,
        positions,
    }
}

/// Checks the words typed back (0-based position, typed word).
pub fn confirm(draft: &Draft, answers: &[(usize, Secret)]) -> Result<(), String> {
    let phrase = draft.mnemonic.phrase();
    let answers: Vec<(usize, String)> = answers
        .iter()
        .map(|(p, w)| (*p, w.expose().to_owned()))
        .collect();
    let checked = tandem_ui::validate::confirm_words(&phrase, &answers);
    for (_, mut w) in answers {
        zeroize::Zeroize::zeroize(&mut w);
    }
    checked.map_err(|e| sentence(&e.to_string()))
}

/// Reads a pasted phrase. An unknown word is named (by position and as
/// typed: a word outside the list is not a word of anyone's phrase).
pub fn import(input: &Secret) -> Result<Draft, String> {
    let normalized = Secret::new(
        tandem_ui::validate::recovery_phrase(input.expose())
            .map_err(|e| sentence(&e.to_string()))?,
    );
    match Mnemonic::parse(normalized.expose()) {
        Ok(mnemonic) => Ok(Draft {
            mnemonic,
            positions: Vec::new(),
        }),
        Err(tandem_keys::Error::UnknownWord { position }) => {
            let word = normalized
                .expose()
                .split(' ')
                .nth(position.saturating_sub(1))
                .unwrap_or("");
            Err(format!(
                "Word {position}, “{word}”, is not in the BIP-39 English word list; \
                 check its spelling."
            ))
        }
        Err(e) => Err(sentence(&e.to_string())),
    }
}

/// An open wallet: the keyring (zeroized on drop) and its first account.
pub struct Unlocked {
    keyring: Keyring,
    /// Account 0 (m/44'/60'/0'/0/0), EIP-55 checksummed.
    pub address: String,
}

impl Unlocked {
    fn new(keyring: Keyring) -> Result<Unlocked, String> {
        let address = keyring
            .accounts()
            .next()
            .map(|a| a.address.to_checksum(None))
            .ok_or_else(|| "This wallet holds no account.".to_owned())?;
        Ok(Unlocked { keyring, address })
    }

    /// The recovery phrase, for a password-confirmed reveal.
    fn phrase(&self) -> Result<Secret, String> {
        let source = self
            .keyring
            .mnemonic_sources()
            .next()
            .ok_or_else(|| "This wallet has no recovery phrase.".to_owned())?;
        let m = self
            .keyring
            .mnemonic(source)
            .map_err(|e| sentence(&e.to_string()))?;
        Ok(Secret(m.phrase()))
    }

    /// The backup secret of the wallet's recovery phrase (HKDF over the
    /// seed, `tandem_keys`), for the sync engine while the wallet is open;
    /// `None` for a wallet without a phrase.
    pub fn backup_secret(&self) -> Option<Zeroizing<[u8; 32]>> {
        self.backup_secret_of(0)
    }

    /// The backup secret of generation `generation` (the backup moves to
    /// the next one when a restored browser cuts off the devices outside
    /// its group: `tandem_keys::backup`), as [`Unlocked::backup_secret`].
    pub fn backup_secret_of(&self, generation: u32) -> Option<Zeroizing<[u8; 32]>> {
        self.keyring.backup_secret_of(generation)
    }

    /// Where the relay that serves this app keeps the backup of this
    /// wallet's phrase (`/v1/backup/<id>`, docs/protocol.md); the id says
    /// nothing about the phrase. Generation 0's: a backup moved on since
    /// still holds its marker there (`crate::restore`, "exists").
    pub fn backup_path(&self) -> Option<String> {
        let secret = self.backup_secret()?;
        let id = tandem_pair::backup::BackupKeys::derive(&secret).id();
        Some(format!("/v1/backup/{id}"))
    }
}

impl Unlocked {
    /// Signs what a computer of the group asked this phone to sign with
    /// its account, as the extension signs for its own: EIP-191, EIP-712
    /// or a transaction. The signature, `0x` and 65 bytes.
    pub fn sign(&self, what: &Sign) -> Result<String, String> {
        let account: Address = what
            .account
            .parse()
            .map_err(|_| "The request names no account.".to_owned())?;
        let key = self.keyring.key(account).map_err(|_| {
            format!(
                "{} is not this phone's account: nothing was signed.",
                account.to_checksum(None)
            )
        })?;
        let bad = |e: tandem_eth::Error| sentence(&e.to_string());
        let sig = match what.kind {
            SignKind::Personal => eip191::sign(key, &eip191::message_bytes(&what.payload)),
            SignKind::TypedData => {
                eip712::sign(key, &eip712::parse(&what.payload).map_err(bad)?).map_err(bad)?
            }
            SignKind::Transaction => {
                let tx = TransactionRequest::from_json(&what.payload).map_err(bad)?;
                if tx.from.is_some_and(|f| f != account) {
                    return Err(
                        "The transaction is from another account: nothing was signed.".into(),
                    );
                }
                signature::sign_hash(key, &tx.build().map_err(bad)?.signature_hash())
            }
        };
        Ok(format!("0x{}", hex::encode(sig.as_bytes())))
    }
}

impl fmt::Debug for Unlocked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Unlocked")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

fn vault_error(e: tandem_vault::Error) -> String {
    match e {
        tandem_vault::Error::WrongPassword => "Wrong password. Try again.".into(),
        e => sentence(&e.to_string()),
    }
}

/// Makes the keyring of `draft` and seals it under `password`: the vault
/// JSON to store, and the open wallet.
pub fn seal(
    rng: &mut impl CryptoRngCore,
    draft: &Draft,
    password: &Secret,
    kdf: KdfParams,
) -> Result<(String, Unlocked), String> {
    let keyring =
        Keyring::from_mnemonic(draft.mnemonic.clone(), "").map_err(|e| sentence(&e.to_string()))?;
    let (vault, _key) = Vault::seal(rng, password.expose().as_bytes(), &keyring.to_bytes(), kdf)
        .map_err(vault_error)?;
    Ok((vault.to_json(), Unlocked::new(keyring)?))
}

/// Opens the stored vault with `password`.
pub fn unlock(vault: &str, password: &Secret) -> Result<Unlocked, String> {
    let plain = Vault::from_json(vault)
        .and_then(|v| v.read(password.expose().as_bytes()))
        .map_err(vault_error)?;
    let keyring = Keyring::from_bytes(&plain).map_err(|e| sentence(&e.to_string()))?;
    Unlocked::new(keyring)
}

/// The key of the stored vault, once `password` opens it (to wrap it for
/// fingerprint or face unlock: see `prf`).
pub fn vault_key(vault: &str, password: &Secret) -> Result<VaultKey, String> {
    Vault::from_json(vault)
        .and_then(|v| v.unlock_keeping(password.expose().as_bytes()))
        .map(|(_, key)| key)
        .map_err(vault_error)
}

/// Opens the stored vault with its key (unwrapped by fingerprint or face
/// unlock). A key that is not this vault's is refused.
pub fn unlock_with_key(vault: &str, key: &VaultKey) -> Result<Unlocked, String> {
    let plain = Vault::from_json(vault)
        .and_then(|v| v.open(key))
        .map_err(|e| match e {
            tandem_vault::Error::KeyNotCurrent => "The key from your fingerprint or face does \
                 not open this wallet. Unlock with your password."
                .to_owned(),
            e => sentence(&e.to_string()),
        })?;
    let keyring = Keyring::from_bytes(&plain).map_err(|e| sentence(&e.to_string()))?;
    Unlocked::new(keyring)
}

/// The phrase of the open wallet, once `password` opens the stored vault
/// again (someone holding an unlocked phone still needs the password).
pub fn reveal(vault: &str, password: &Secret, open: &Unlocked) -> Result<Secret, String> {
    Vault::from_json(vault)
        .and_then(|v| v.read(password.expose().as_bytes()))
        .map_err(vault_error)?;
    open.phrase()
}

/// `msg` with a capital first letter (the shared validators write lower case
/// fragments for the extension's field errors).
pub(crate) fn sentence(msg: &str) -> String {
    let mut c = msg.chars();
    match c.next() {
        Some(first) => {
            let mut s: String = first.to_uppercase().collect();
            s.push_str(c.as_str());
            if !s.ends_with('.') {
                s.push('.');
            }
            s
        }
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::OsRng;

    const ANVIL: &str = "test test test test test test test test test test test junk";

    #[test]
    fn import_names_the_bad_word_and_explains_counts_and_checksums() {
        let e = import(&Secret::new(
            "test test test tset test test test test test test test junk".into(),
        ))
        .unwrap_err();
        assert!(e.contains("Word 4") && e.contains("tset"), "{e}");
        let e = import(&Secret::new("test test".into())).unwrap_err();
        assert!(e.contains("12, 15, 18, 21 or 24"), "{e}");
        let e = import(&Secret::new(
            "junk test test test test test test test test test test test".into(),
        ))
        .unwrap_err();
        assert!(e.contains("checksum"), "{e}");
        let d = import(&Secret::new(format!("  {}  ", ANVIL.to_uppercase()))).expect("valid");
        assert!(!d.created());
    }

    #[test]
    fn sealing_then_unlocking_gives_account_zero_and_a_wrong_password_is_refused() {
        let d = import(&Secret::new(ANVIL.into())).expect("valid");
        let pw = Secret::new("correct horse battery".into());
        let (vault, open) = seal(&mut OsRng, &d, &pw, KdfParams::INSECURE_TEST).expect("sealed");
        assert_eq!(open.address, "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
        assert!(
            !vault.contains("test"),
            "the vault holds no phrase in clear"
        );
        let e = unlock(&vault, &Secret::new("wrong horse battery".into())).unwrap_err();
        assert_eq!(e, "Wrong password. Try again.");
        let again = unlock(&vault, &pw).expect("right password");
        assert_eq!(again.address, open.address);
        assert!(reveal(&vault, &Secret::new("nope".into()), &again).is_err());
        assert_eq!(
            reveal(&vault, &pw, &again).expect("revealed").expose(),
            ANVIL
        );
    }

    #[test]
    fn the_vault_key_opens_the_vault_and_another_key_is_refused_clearly() {
        let d = import(&Secret::new(ANVIL.into())).expect("valid");
        let pw = Secret::new("correct horse battery".into());
        let (vault, open) = seal(&mut OsRng, &d, &pw, KdfParams::INSECURE_TEST).expect("sealed");
        let key = vault_key(&vault, &pw).expect("right password");
        assert_eq!(
            unlock_with_key(&vault, &key).expect("opens").address,
            open.address
        );
        let e = unlock_with_key(&vault, &VaultKey::from_bytes(&[0; 32])).unwrap_err();
        assert!(e.contains("does not open this wallet"), "{e}");
        assert_eq!(
            vault_key(&vault, &Secret::new("nope".into()))
                .err()
                .as_deref(),
            Some("Wrong password. Try again.")
        );
    }

    #[test]
    fn a_new_phrase_has_twelve_words_and_three_distinct_positions_to_confirm() {
        let d = generate(&mut OsRng);
        assert_eq!(d.words().len(), 12);
        let mut p = d.positions.clone();
        p.dedup();
        assert_eq!(p.len(), CONFIRM_WORDS);
        assert!(p.iter().all(|&i| i < 12));
        let right: Vec<(usize, Secret)> = d
            .positions
            .iter()
            .map(|&i| (i, Secret::new(d.words()[i].to_uppercase())))
            .collect();
        assert!(confirm(&d, &right).is_ok());
        let mut wrong = right.clone();
        wrong[1].1 = Secret::new("zzz".into());
        let e = confirm(&d, &wrong).unwrap_err();
        assert!(
            e.starts_with(&format!("Word #{}", d.positions[1] + 1)),
            "{e}"
        );
    }

    #[test]
    fn each_generation_has_its_own_backup_secret_and_the_path_is_generation_zeros() {
        let d = import(&Secret::new(ANVIL.into())).expect("valid");
        let pw = Secret::new("correct horse battery".into());
        let (_, open) = seal(&mut OsRng, &d, &pw, KdfParams::INSECURE_TEST).expect("sealed");
        let zero = open.backup_secret().expect("a phrase");
        assert_eq!(open.backup_secret_of(0).as_deref(), Some(&*zero));
        let one = open.backup_secret_of(1).expect("a phrase");
        let two = open.backup_secret_of(2).expect("a phrase");
        assert!(*one != *zero && *two != *one && *two != *zero);
        let id = tandem_pair::backup::BackupKeys::derive(&zero).id();
        assert_eq!(open.backup_path(), Some(format!("/v1/backup/{id}")));
    }

    #[test]
    fn debug_prints_no_secret() {
        let d = import(&Secret::new(ANVIL.into())).expect("valid");
        let pw = Secret::new("correct horse battery".into());
        let (_, open) = seal(&mut OsRng, &d, &pw, KdfParams::INSECURE_TEST).expect("sealed");
        let all = format!("{d:?} {pw:?} {open:?}");
        assert!(!all.contains("test") && !all.contains("junk") && !all.contains("horse"));
        assert!(all.contains("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"));
    }
}
