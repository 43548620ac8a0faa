//! The device's home directory: `config.json` (public settings) and
//! `vault.json` (everything secret, sealed with the password): the wallet
//! keys, the device identity key and the group state with its keys.

use std::path::{Path, PathBuf};

use rand_core::OsRng;
use serde::{Deserialize, Serialize};
use tandem_device::State;
use tandem_keys::Keyring;
use tandem_pair::IdentityKey;
use tandem_sync::Syncer;
use tandem_vault::{KdfParams, Vault, VaultKey};
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// Public settings.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Config {
    pub(crate) name: String,
}

/// Vault contents.
#[derive(Serialize, Deserialize)]
struct Secrets {
    keyring: Zeroizing<String>,
    identity_seed: Zeroizing<String>,
    device: State,
    /// The synced wallet metadata (private, though not secret: sealed too).
    #[serde(default)]
    sync: Option<Syncer>,
}

/// Where a device lives on disk, with the key to re-seal its vault.
pub(crate) struct Home {
    dir: PathBuf,
    keyring: Keyring,
    vault: Vault,
    key: VaultKey,
    /// Sync state (`None` until sync is first used on this device).
    pub(crate) sync: Option<Syncer>,
}

impl core::fmt::Debug for Home {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Home({})", self.dir.display())
    }
}

fn vault_path(home: &Path) -> PathBuf {
    home.join("vault.json")
}
fn config_path(home: &Path) -> PathBuf {
    home.join("config.json")
}

pub(crate) fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

pub(crate) fn password() -> Result<Zeroizing<String>> {
    if let Ok(p) = std::env::var("TANDEM_PASSWORD") {
        return Ok(Zeroizing::new(p));
    }
    eprint!("password: ");
    let mut line = Zeroizing::new(String::new());
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| Error::io("reading the password", e))?;
    Ok(Zeroizing::new(
        line.trim_end_matches(['\r', '\n']).to_owned(),
    ))
}

fn kdf() -> KdfParams {
    // Tests create many short-lived vaults; never set this for a real wallet.
    if std::env::var("TANDEM_INSECURE_TEST_KDF").is_ok_and(|v| v == "1") {
        KdfParams::INSECURE_TEST
    } else {
        KdfParams::default()
    }
}

fn write_atomic(path: &Path, data: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, data).map_err(|e| Error::io(format!("writing {}", tmp.display()), e))?;
    // The new file must be on disk before it replaces the old one: the
    // engine acknowledges messages to the relay right after a save.
    std::fs::File::open(&tmp)
        .and_then(|f| f.sync_all())
        .map_err(|e| Error::io(format!("syncing {}", tmp.display()), e))?;
    std::fs::rename(&tmp, path)
        .map_err(|e| Error::io(format!("replacing {}", path.display()), e))?;
    if let Some(dir) = path.parent() {
        let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
    }
    Ok(())
}

fn seal(
    keyring: &Keyring,
    identity: &IdentityKey,
    device: &State,
    sync: Option<&Syncer>,
) -> Zeroizing<Vec<u8>> {
    let secrets = Secrets {
        keyring: Zeroizing::new(
            String::from_utf8(keyring.to_bytes().to_vec()).expect("keyring is JSON"),
        ),
        identity_seed: Zeroizing::new(hex::encode(*identity.to_seed())),
        device: device.clone(),
        sync: sync.cloned(),
    };
    Zeroizing::new(serde_json::to_vec(&secrets).expect("secrets serialize"))
}

impl Home {
    /// Creates a new device in `dir` (refuses to overwrite one): a new
    /// identity key and a group of one on `relay`.
    pub(crate) fn create(
        dir: &Path,
        name: &str,
        relay: &str,
        keyring: Keyring,
        password: &str,
    ) -> Result<(Self, IdentityKey, State)> {
        if vault_path(dir).exists() {
            return Err(Error::State(format!(
                "{} already holds a Tandem device; use another --home",
                dir.display()
            )));
        }
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
        let identity = IdentityKey::generate(&mut OsRng);
        let device = State::found(&identity, name, relay, now(), &mut OsRng)?;
        let plain = seal(&keyring, &identity, &device, None);
        let (vault, key) = Vault::seal(&mut OsRng, password.as_bytes(), &plain, kdf())?;
        let config = Config {
            name: name.to_owned(),
        };
        write_atomic(
            &config_path(dir),
            serde_json::to_string_pretty(&config)
                .expect("config serializes")
                .as_bytes(),
        )?;
        write_atomic(&vault_path(dir), vault.to_json().as_bytes())?;
        Ok((
            Self {
                dir: dir.to_owned(),
                keyring,
                vault,
                key,
                sync: None,
            },
            identity,
            device,
        ))
    }

    /// Opens the device in `dir` with the password.
    pub(crate) fn open(dir: &Path, password: &str) -> Result<(Self, IdentityKey, State)> {
        let vp = vault_path(dir);
        let text = std::fs::read_to_string(&vp).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                Error::State(format!(
                    "no Tandem device in {}; run `tandem init` first",
                    dir.display()
                ))
            } else {
                Error::io(format!("reading {}", vp.display()), e)
            }
        })?;
        let vault = Vault::from_json(&text)?;
        // Not `unlock`: a running `tandem` process may hold this vault's
        // key, which a new data key would take from it.
        let (plain, key) = vault.unlock_keeping(password.as_bytes())?;
        let secrets: Secrets = serde_json::from_slice(&plain).map_err(|_| {
            Error::State("the vault contents are unreadable (made by an older Tandem?)".into())
        })?;
        let keyring = Keyring::from_bytes(secrets.keyring.as_bytes())?;
        let mut seed = Zeroizing::new([0u8; 32]);
        hex::decode_to_slice(secrets.identity_seed.as_str(), seed.as_mut_slice())
            .map_err(|_| Error::State("the identity key in the vault is damaged".into()))?;
        Ok((
            Self {
                dir: dir.to_owned(),
                keyring,
                vault,
                key,
                sync: secrets.sync,
            },
            IdentityKey::from_seed(&seed),
            secrets.device,
        ))
    }

    /// The wallet's keys.
    pub(crate) fn keyring(&self) -> &Keyring {
        &self.keyring
    }

    /// Deletes the vault and the settings (another device asked this one
    /// to erase its wallet).
    pub(crate) fn erase(self) -> Result<()> {
        for p in [vault_path(&self.dir), config_path(&self.dir)] {
            match std::fs::remove_file(&p) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io(format!("erasing {}", p.display()), e)),
            }
        }
        Ok(())
    }

    /// Re-seals the vault with the current state (no KDF cost) and writes it
    /// durably.
    pub(crate) fn save(&mut self, device: &State, identity: &IdentityKey) -> Result<()> {
        let plain = seal(&self.keyring, identity, device, self.sync.as_ref());
        self.vault = self.vault.reseal(&mut OsRng, &self.key, &plain)?;
        write_atomic(&vault_path(&self.dir), self.vault.to_json().as_bytes())
    }
}
