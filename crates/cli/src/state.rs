//! The device's home directory: `config.json` (public settings) and
//! `vault.json` (everything secret, sealed with the password).

use std::path::{Path, PathBuf};

use rand_core::OsRng;
use serde::{Deserialize, Serialize};
use tandem_keys::Keyring;
use tandem_pair::{Group, IdentityKey, Topic};
use tandem_vault::{KdfParams, Vault, VaultKey};
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// Public settings.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Config {
    pub(crate) relay: String,
    pub(crate) name: String,
}

/// Vault contents. Hand-written `Debug`: secrets only.
#[derive(Serialize, Deserialize)]
struct Secrets {
    keyring: Zeroizing<String>,
    identity_seed: Zeroizing<String>,
    group: Group,
    #[serde(default)]
    used_offers: Vec<Topic>,
}

/// An unlocked device.
pub(crate) struct Device {
    home: PathBuf,
    pub(crate) config: Config,
    pub(crate) keyring: Keyring,
    pub(crate) identity: IdentityKey,
    pub(crate) group: Group,
    pub(crate) used_offers: Vec<Topic>,
    vault: Vault,
    key: VaultKey,
}

impl core::fmt::Debug for Device {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Device({})", self.identity.device_id())
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
    std::fs::rename(&tmp, path).map_err(|e| Error::io(format!("replacing {}", path.display()), e))
}

impl Device {
    /// Creates a new device in `home` (refuses to overwrite one).
    pub(crate) fn create(
        home: &Path,
        config: Config,
        keyring: Keyring,
        password: &str,
    ) -> Result<Self> {
        if vault_path(home).exists() {
            return Err(Error::State(format!(
                "{} already holds a Tandem device; use another --home",
                home.display()
            )));
        }
        std::fs::create_dir_all(home)
            .map_err(|e| Error::io(format!("creating {}", home.display()), e))?;
        let identity = IdentityKey::generate(&mut OsRng);
        let group = Group::found(&identity, &config.name, now(), &mut OsRng)?;
        let secrets = Secrets {
            keyring: Zeroizing::new(
                String::from_utf8(keyring.to_bytes().to_vec()).expect("keyring is JSON"),
            ),
            identity_seed: Zeroizing::new(hex::encode(*identity.to_seed())),
            group,
            used_offers: Vec::new(),
        };
        let plain = Zeroizing::new(serde_json::to_vec(&secrets).expect("secrets serialize"));
        let (vault, key) = Vault::seal(&mut OsRng, password.as_bytes(), &plain, kdf())?;
        write_atomic(
            &config_path(home),
            serde_json::to_string_pretty(&config)
                .expect("config serializes")
                .as_bytes(),
        )?;
        write_atomic(&vault_path(home), vault.to_json().as_bytes())?;
        Ok(Self {
            home: home.to_owned(),
            config,
            keyring,
            identity,
            group: secrets.group,
            used_offers: Vec::new(),
            vault,
            key,
        })
    }

    /// Opens the device in `home` with the password.
    pub(crate) fn open(home: &Path, password: &str) -> Result<Self> {
        let vp = vault_path(home);
        let text = std::fs::read_to_string(&vp).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                Error::State(format!(
                    "no Tandem device in {}; run `tandem init` first",
                    home.display()
                ))
            } else {
                Error::io(format!("reading {}", vp.display()), e)
            }
        })?;
        let config: Config = serde_json::from_str(
            &std::fs::read_to_string(config_path(home))
                .map_err(|e| Error::io("reading config.json", e))?,
        )
        .map_err(|e| Error::State(format!("config.json is damaged: {e}")))?;
        let vault = Vault::from_json(&text)?;
        let (plain, key) = vault.unlock(password.as_bytes())?;
        let secrets: Secrets = serde_json::from_slice(&plain)
            .map_err(|_| Error::State("the vault contents are unreadable".into()))?;
        let keyring = Keyring::from_bytes(secrets.keyring.as_bytes())?;
        let mut seed = Zeroizing::new([0u8; 32]);
        hex::decode_to_slice(secrets.identity_seed.as_str(), seed.as_mut_slice())
            .map_err(|_| Error::State("the identity key in the vault is damaged".into()))?;
        Ok(Self {
            home: home.to_owned(),
            config,
            keyring,
            identity: IdentityKey::from_seed(&seed),
            group: secrets.group,
            used_offers: secrets.used_offers,
            vault,
            key,
        })
    }

    /// Re-seals the vault with the current state (no KDF cost).
    pub(crate) fn save(&mut self) -> Result<()> {
        let secrets = Secrets {
            keyring: Zeroizing::new(
                String::from_utf8(self.keyring.to_bytes().to_vec()).expect("keyring is JSON"),
            ),
            identity_seed: Zeroizing::new(hex::encode(*self.identity.to_seed())),
            group: self.group.clone(),
            used_offers: self.used_offers.clone(),
        };
        let plain = Zeroizing::new(serde_json::to_vec(&secrets).expect("secrets serialize"));
        self.vault = self.vault.reseal(&mut OsRng, &self.key, &plain)?;
        write_atomic(&vault_path(&self.home), self.vault.to_json().as_bytes())?;
        write_atomic(
            &config_path(&self.home),
            serde_json::to_string_pretty(&self.config)
                .expect("config serializes")
                .as_bytes(),
        )
    }
}
