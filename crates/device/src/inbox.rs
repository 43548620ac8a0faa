//! Messages the relay delivers on the group link: group messages and key
//! updates. Each is applied (or kept for later) and persisted before the
//! engine acknowledges it.

use rand_core::CryptoRngCore;
use tandem_pair::{DeviceId, Envelope, EnvelopeKind, Error as PairError, GroupPayload};

use crate::state::{Deferred, MAX_DEFERRED};
use crate::{Device, Event};

/// What became of one message.
enum Outcome {
    /// Applied (state changed).
    Applied,
    /// Cannot be applied yet; keep it (and, if `chain`, fetch the
    /// revocation records it depends on).
    Later(String, bool),
    /// Refused for good.
    Refused(String),
}

impl Device {
    /// Handles one delivered payload; the caller acknowledges it afterwards.
    pub(crate) fn on_delivery(
        &mut self,
        from: DeviceId,
        payload: Vec<u8>,
        now: u64,
        rng: &mut impl CryptoRngCore,
    ) {
        // The shell persists the state as it is when it carries out the
        // Persist output, i.e. after everything below: one Persist ahead of
        // every event and frame this message causes means nothing is shown
        // or sent (and nothing acknowledged) before its effect is stored.
        let mark = self.out.len();
        self.handle_delivery(from, payload, now, rng);
        let caused: Vec<crate::Output> = self.out.drain(mark..).collect();
        self.persist();
        self.out
            .extend(caused.into_iter().filter(|o| *o != crate::Output::Persist));
    }

    fn handle_delivery(
        &mut self,
        from: DeviceId,
        payload: Vec<u8>,
        now: u64,
        rng: &mut impl CryptoRngCore,
    ) {
        match self.apply(&payload, now) {
            Outcome::Applied => {
                self.after_change(now, rng);
            }
            Outcome::Later(reason, chain) => {
                if chain && self.is_online() {
                    let after = self.state.group.chain_len();
                    self.request(crate::Pending::Chain, now, |req| {
                        tandem_pair::ClientFrame::Revocations { req, after }
                    });
                }
                if self.state.deferred.len() >= MAX_DEFERRED {
                    let dropped = self.state.deferred.remove(0);
                    self.emit(Event::Rejected {
                        from: dropped.from,
                        error: "too many messages were waiting for a key; the oldest was dropped"
                            .into(),
                    });
                }
                self.state.deferred.push(Deferred {
                    from,
                    payload: tandem_pair::Bytes(payload),
                });
                self.emit(Event::Deferred { from, reason });
            }
            Outcome::Refused(error) => self.emit(Event::Rejected { from, error }),
        }
    }

    /// Retries what was kept for later, after keys or the chain changed.
    pub(crate) fn retry_deferred(&mut self, now: u64, rng: &mut impl CryptoRngCore) {
        loop {
            let pending = core::mem::take(&mut self.state.deferred);
            if pending.is_empty() {
                return;
            }
            let before = pending.len();
            let mut progressed = false;
            for d in pending {
                match self.apply(&d.payload.0, now) {
                    Outcome::Applied => progressed = true,
                    Outcome::Later(..) => self.state.deferred.push(d),
                    Outcome::Refused(error) => {
                        progressed = true;
                        self.emit(Event::Rejected {
                            from: d.from,
                            error,
                        });
                    }
                }
            }
            if progressed {
                self.persist();
                self.rotate_if_due(now, rng);
            }
            if !progressed || self.state.deferred.len() == before {
                return;
            }
        }
    }

    fn after_change(&mut self, now: u64, rng: &mut impl CryptoRngCore) {
        self.retry_deferred(now, rng);
        self.work(now, rng);
    }

    fn apply(&mut self, payload: &[u8], now: u64) -> Outcome {
        let kind = match Envelope::decode(payload) {
            Ok(e) => e.header.kind,
            Err(e) => return Outcome::Refused(e.to_string()),
        };
        match kind {
            EnvelopeKind::Group => match self.state.group.open(payload, now) {
                Ok(r) => {
                    match r.payload {
                        GroupPayload::App { data } => {
                            let id = self.state.push_inbox(r.from, data.clone(), false);
                            self.emit(Event::Message {
                                id,
                                from: r.from,
                                data: data.0,
                            })
                        }
                        GroupPayload::Request { data } => {
                            let id = self.state.push_inbox(r.from, data.clone(), true);
                            self.emit(Event::Request {
                                id,
                                from: r.from,
                                data: data.0,
                            })
                        }
                        // The relay's `admitted` notice usually came first
                        // (and was reported then); the announcement adds
                        // the name.
                        GroupPayload::MemberAdded { token, name } => {
                            self.emit(Event::DeviceNamed {
                                device: token.subject_device(),
                                name,
                            })
                        }
                        GroupPayload::TokenRefreshed { token } => {
                            if token.subject_device() == self.id() {
                                self.state.refresh_asked_at = None;
                            }
                        }
                        GroupPayload::RefreshMe => self.on_refresh_request(r.from, now),
                    }
                    Outcome::Applied
                }
                Err(PairError::WrongEpoch { got, have }) if got > have => Outcome::Later(
                    format!("sent under key epoch {got}, which has not arrived"),
                    false,
                ),
                Err(e) => Outcome::Refused(e.to_string()),
            },
            EnvelopeKind::KeyUpdate => {
                match self.state.group.open_key_update(&self.identity, payload) {
                    Ok(epoch) => {
                        self.emit(Event::KeyRotated { epoch });
                        Outcome::Applied
                    }
                    Err(e @ PairError::ChainGap { .. }) => Outcome::Later(e.to_string(), true),
                    Err(e) => Outcome::Refused(e.to_string()),
                }
            }
            _ => Outcome::Refused("a pairing message outside a pairing".into()),
        }
    }
}
