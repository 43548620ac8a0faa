//! Connected sites in the extension's worker (category "Connected sites";
//! what is recorded is `tandem_sync::sites`): this browser's connections go
//! in, the other devices' come out for the Sites tab ("connected on
//! Pixel 8", with no permission here).

use serde::Deserialize;
use tandem_sync::{Site, Syncer};
use wasm_bindgen::prelude::*;

use crate::sync::{attached, with};
use crate::{events, DeviceHost};

/// A connected site as the wallet keeps it (`tandem_wallet::Site`).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WalletSite {
    origin: String,
    accounts: Vec<String>,
    connected_at: u64,
}

#[wasm_bindgen]
impl DeviceHost {
    /// This browser's connected sites (the wallet's `sites`, JSON): the
    /// group's records of this device follow them (none while the category
    /// is off).
    #[wasm_bindgen(js_name = syncSitesHere)]
    pub fn sync_sites_here(&self, sites: &str) -> Result<(), JsError> {
        let sites: Vec<WalletSite> = serde_json::from_str(sites)
            .map_err(|e| JsError::new(&format!("bad site list: {e}")))?;
        if !attached(&self.host) {
            return Ok(());
        }
        let here: Vec<(String, Site)> = sites
            .into_iter()
            .map(|s| {
                let accounts = s.accounts.iter().map(|a| a.to_ascii_lowercase()).collect();
                let site = Site {
                    accounts,
                    connected_at: s.connected_at,
                };
                (s.origin, site)
            })
            .collect();
        let me = self.host.dev.borrow().id();
        let edits = with(&self.host, |s: &mut Syncer| {
            tandem_sync::sites::edits(s.replica(), me, &here)
        });
        self.edit_records(edits)
    }

    /// The sites connected on the group's other devices, as the Sites tab
    /// lists them: `[{origin, device, deviceName, accounts, connectedAt}]`
    /// (`[]` before sync is attached or while the category is off).
    #[wasm_bindgen(js_name = syncSitesElsewhere)]
    pub fn sync_sites_elsewhere(&self) -> String {
        if !attached(&self.host) {
            return "[]".into();
        }
        let dev = self.host.dev.borrow();
        let me = dev.id();
        let list: Vec<serde_json::Value> = with(&self.host, |s: &mut Syncer| {
            tandem_sync::sites::elsewhere(s.replica(), me)
                .into_iter()
                .map(|(device, origin, site)| {
                    serde_json::json!({
                        "origin": origin,
                        "device": device.to_hex(),
                        "deviceName": events::name_of(&dev, &device),
                        "accounts": site.accounts,
                        "connectedAt": site.connected_at,
                    })
                })
                .collect()
        });
        serde_json::Value::from(list).to_string()
    }
}
