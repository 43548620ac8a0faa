//! The group's blobs on the relay: versioned, sealed and signed
//! ([`tandem_pair::Group::seal_blob`]), written with compare and swap. The
//! sync snapshot lives here; the relay stores ciphertext and versions only.

use rand_core::CryptoRngCore;
use tandem_pair::{Bytes, ClientFrame, ErrorCode};

use crate::{Device, Event, Pending};

const PUTTING: &str = "storing the group's data on the relay";
const GETTING: &str = "reading the group's data from the relay";

impl Device {
    /// [`crate::Command::PutBlob`].
    pub(crate) fn put_blob(
        &mut self,
        name: String,
        data: &[u8],
        expected: Option<u64>,
        now: u64,
        rng: &mut impl CryptoRngCore,
    ) {
        if !self.is_online() {
            return self.fail(PUTTING, "this device is offline; it retries once online");
        }
        match self.state.group.seal_blob(&self.identity, &name, data, rng) {
            Ok(value) => self.request(Pending::BlobPut(name.clone()), now, |req| {
                ClientFrame::BlobPut {
                    req,
                    key: name,
                    value: Bytes(value),
                    expected,
                }
            }),
            Err(e) => self.fail(PUTTING, &e.to_string()),
        }
    }

    /// [`crate::Command::GetBlob`].
    pub(crate) fn get_blob(&mut self, name: String, now: u64) {
        if !self.is_online() {
            return self.fail(GETTING, "this device is offline; it retries once online");
        }
        self.request(Pending::BlobGet, now, |req| ClientFrame::BlobGet {
            req,
            key: name,
        });
    }

    /// The relay's answer to a read: opened, or why it cannot be (with its
    /// version, so that the caller can replace it by compare and swap).
    pub(crate) fn on_blob(&mut self, req: u64, name: String, value: Option<Bytes>, version: u64) {
        if !matches!(self.waiting.remove(&req), Some((Pending::BlobGet, _))) {
            return;
        }
        let Some(value) = value else {
            return self.emit(Event::Blob {
                name,
                version: 0,
                data: None,
            });
        };
        match self.state.group.open_blob(&name, &value.0) {
            Ok(opened) => self.emit(Event::Blob {
                name,
                version,
                data: Some(opened.plaintext.to_vec()),
            }),
            Err(e) => self.emit(Event::BlobUnreadable {
                name,
                version,
                error: e.to_string(),
            }),
        }
    }

    /// A put was stored.
    pub(crate) fn on_blob_stored(&mut self, req: u64, version: u64) {
        if let Some((Pending::BlobPut(name), _)) = self.waiting.remove(&req) {
            self.emit(Event::BlobStored { name, version });
        }
    }

    /// A put or read failed: a compare-and-swap conflict is its own event
    /// (read, merge, write again); anything else is a failure.
    pub(crate) fn blob_failed(&mut self, pending: Pending, code: ErrorCode, message: &str) {
        match (pending, code) {
            (Pending::BlobPut(name), ErrorCode::Conflict) => {
                self.emit(Event::BlobConflict { name })
            }
            (Pending::BlobPut(_), _) => self.fail(PUTTING, message),
            _ => self.fail(GETTING, message),
        }
    }
}
