//! What a device keeps between runs: its group and the work it still owes.
//!
//! Everything here must be stored durably (and encrypted: the group holds
//! the group keys) whenever the engine asks for it with
//! [`crate::Output::Persist`], before the shell carries out the outputs that
//! follow. That ordering is what lets the engine acknowledge a message to
//! the relay only after its effect is on disk, and send a key update only
//! after the key it carries is.

use serde::{Deserialize, Serialize};
use tandem_pair::{
    Bytes, DeviceId, Group, IdentityKey, Recipient, RevocationReason, RevocationRecord,
    RevocationTarget, Topic,
};

/// Most messages kept waiting for a key or a revocation record.
pub const MAX_DEFERRED: usize = 64;
/// Most received application messages kept until the shell clears them.
pub const MAX_INBOX: usize = 256;
/// Most application messages waiting to be published (protocol messages
/// such as key updates are never refused).
pub const MAX_OUTBOX: usize = 256;

/// A payload this device must publish, kept until the relay confirmed it
/// stored it (`published`).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxItem {
    /// Local id.
    pub id: u64,
    /// Where it goes.
    pub to: Recipient,
    /// The envelope.
    pub payload: Bytes,
    /// What it is, for events and logs.
    pub what: String,
}

impl core::fmt::Debug for OutboxItem {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("OutboxItem")
            .field("id", &self.id)
            .field("to", &self.to)
            .field("what", &self.what)
            .finish_non_exhaustive()
    }
}

/// A delivered message that could not be applied yet (a key or a record it
/// depends on has not arrived); it was stored here before being acknowledged.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deferred {
    /// Sending device.
    pub from: DeviceId,
    /// The envelope.
    pub payload: Bytes,
}

impl core::fmt::Debug for Deferred {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Deferred")
            .field("from", &self.from)
            .field("len", &self.payload.0.len())
            .finish()
    }
}

/// An application message received from another device, stored with the
/// state change that accepted it (so a crash can neither lose nor repeat it).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Received {
    /// Local id (increasing).
    pub id: u64,
    /// Sender.
    pub from: DeviceId,
    /// Data.
    pub data: Bytes,
    /// A request (needs [`tandem_pair::Capabilities::REQUEST_SIGNATURE`]) rather than a message.
    pub request: bool,
}

impl core::fmt::Debug for Received {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Received")
            .field("id", &self.id)
            .field("from", &self.from)
            .field("len", &self.data.0.len())
            .finish()
    }
}

/// A revocation the user asked for that the relay has not accepted yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Intent {
    /// What to revoke.
    pub target: RevocationTarget,
    /// Why.
    pub reason: RevocationReason,
    /// Ask the device to erase its wallet too.
    #[serde(default)]
    pub erase: bool,
}

/// A device's durable state. Contains the group keys: store it encrypted.
#[derive(Clone, Serialize, Deserialize)]
pub struct State {
    /// The name this device gives itself (shown on the other devices).
    pub name: String,
    /// Its group.
    pub group: Group,
    #[serde(default)]
    pub(crate) outbox: Vec<OutboxItem>,
    #[serde(default)]
    pub(crate) deferred: Vec<Deferred>,
    #[serde(default)]
    pub(crate) intents: Vec<Intent>,
    /// Pairing topics this device answered (each QR works once), with the
    /// offer's expiry, so they can be forgotten after it.
    #[serde(default)]
    pub(crate) used_offers: Vec<(Topic, u64)>,
    #[serde(default)]
    pub(crate) inbox: Vec<Received>,
    /// When this device last asked the group to refresh its token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) refresh_asked_at: Option<u64>,
    /// The expiry of this device's token last reported as passed
    /// ([`crate::Event::TokenExpired`] is said once per token).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) expiry_noted: Option<u64>,
    #[serde(default)]
    pub(crate) next_id: u64,
}

impl core::fmt::Debug for State {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("State")
            .field("name", &self.name)
            .field("group", &self.group)
            .field("outbox", &self.outbox.len())
            .field("deferred", &self.deferred.len())
            .field("intents", &self.intents)
            .finish_non_exhaustive()
    }
}

impl State {
    /// A new device: founds a group of one on `relay` (`wss://`, or `ws://`
    /// to this machine only).
    pub fn found(
        identity: &IdentityKey,
        name: &str,
        relay: &str,
        now: u64,
        rng: &mut impl rand_core::CryptoRngCore,
    ) -> tandem_pair::Result<Self> {
        tandem_pair::offer::check_transport(relay)?;
        Ok(Self::with_group(
            name,
            Group::found(identity, name, relay, now, rng)?,
        ))
    }

    pub(crate) fn with_group(name: &str, group: Group) -> Self {
        Self {
            name: name.to_owned(),
            group,
            outbox: Vec::new(),
            deferred: Vec::new(),
            intents: Vec::new(),
            used_offers: Vec::new(),
            inbox: Vec::new(),
            refresh_asked_at: None,
            expiry_noted: None,
            next_id: 0,
        }
    }

    /// Messages still to be published.
    pub fn outbox(&self) -> &[OutboxItem] {
        &self.outbox
    }
    /// Messages waiting for a key or record.
    pub fn deferred(&self) -> &[Deferred] {
        &self.deferred
    }
    /// Received application messages not yet cleared by the shell.
    pub fn inbox(&self) -> &[Received] {
        &self.inbox
    }
    /// Revocations not yet accepted by the relay.
    pub fn intents(&self) -> &[Intent] {
        &self.intents
    }

    /// The record that removed this device from its group, if it was removed.
    pub fn removed_by(&self) -> Option<&RevocationRecord> {
        self.group
            .member(&self.group.me())
            .and_then(|m| m.revoked.as_ref())
    }

    pub(crate) fn push_inbox(&mut self, from: DeviceId, data: Bytes, request: bool) -> u64 {
        self.next_id += 1;
        self.inbox.push(Received {
            id: self.next_id,
            from,
            data,
            request,
        });
        if self.inbox.len() > MAX_INBOX {
            self.inbox.remove(0);
        }
        self.next_id
    }

    pub(crate) fn push_outbox(&mut self, to: Recipient, payload: Vec<u8>, what: &str) {
        self.next_id += 1;
        self.outbox.push(OutboxItem {
            id: self.next_id,
            to,
            payload: Bytes(payload),
            what: what.to_owned(),
        });
    }
}
