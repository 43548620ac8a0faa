//! Pairing as the new device (shows the QR) or as the trusted device (scans
//! it), over a guest connection to the relay the offer names.
//!
//! Both users confirm the code: the new device installs a welcome only
//! after its user said the codes match, and the trusted device issues a
//! token only after both users did. The trusted device acts only when its
//! group state is current ([`crate::Event::Online`]), registers the new
//! device with its own group's relay (`admit`) before it sends the welcome,
//! and warns before using a relay other than its group's. A pairing is not
//! persisted: if the process stops half-way, it has to start over, and
//! nothing was installed on the new device.

use rand_core::CryptoRngCore;
use tandem_pair::{
    Approver, ClientFrame, CodeCheck, Envelope, EnvelopeKind, Error as PairError, GroupPayload,
    IdentityKey, Joiner, Membership, PairingOffer, Recipient, RelayFrame, SessionToken, Topic,
};

use crate::{state::State, Device, Event, LinkId, Pending};

/// How long after an offer's expiry a started pairing may still finish.
pub const GRACE_SECS: u64 = 120;

/// How the trusted device's user checks the code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApproverMode {
    /// Both screens show the code; the user confirms they match.
    Compare,
    /// This screen shows nothing; the user types the new device's code.
    Typing,
}

tandem_pair::internally_tagged! {
    // The pages read it through `serde_json::Value`, whose maps are sorted
    // (`step` comes last); the device module never reads it.
    any_order
    #[serde(tag = "step")]
    #[serde(rename_all = "snake_case")]
    /// Pairing steps, for the UI.
    #[derive(Clone, Debug, PartialEq, Eq)]
    #[non_exhaustive]
    pub enum PairingPhase {
        /// New device: show this link as a QR code until `expires_at`.
        Offer {
            /// The link.
            link: String,
            /// Unix seconds.
            expires_at: u64,
        },
        /// New device: show the code and ask whether the other screen shows the
        /// same ([`crate::Command::ConfirmCode`]).
        ConfirmCode {
            /// Six digits.
            code: String,
        },
        /// Trusted device: the link names another relay than the group's; ask
        /// the user before going on ([`crate::Command::AllowOtherRelay`]).
        OtherRelay {
            /// The link's relay.
            offer_relay: String,
            /// The group's relay.
            group_relay: String,
        },
        /// Trusted device, compare mode: show the code and ask whether the new
        /// device shows the same ([`crate::Command::CheckCode`]).
        CompareCode {
            /// Six digits.
            code: String,
            /// The new device's name.
            name: String,
        },
        /// Trusted device, typing mode: ask for the code the new device shows.
        TypeCode {
            /// The new device's name.
            name: String,
        },
        /// This side decided; waiting for the other device.
        WaitingForOtherDevice,
        /// Done on this side.
        Paired {
            /// The other device's name.
            name: String,
            /// The other device's id (hex).
            device: String,
        },
        /// The pairing ended without installing anything.
        Failed {
            /// Why, in plain language.
            error: String,
        },
        /// Something the user should know that does not end the pairing.
        Warning {
            /// What.
            message: String,
        },
    }
}

impl PairingPhase {
    /// The phase as JSON with its keys in sorted order (`step` last): exactly
    /// what `serde_json::to_value(phase)?.to_string()` writes, without
    /// `serde_json::Value` (the browser shells' form).
    pub fn sorted_json(&self) -> String {
        let o = crate::json::Object::new();
        let (o, step) = match self {
            Self::Offer { link, expires_at } => {
                (o.num("expires_at", *expires_at).str("link", link), "offer")
            }
            Self::ConfirmCode { code } => (o.str("code", code), "confirm_code"),
            Self::OtherRelay {
                offer_relay,
                group_relay,
            } => (
                o.str("group_relay", group_relay)
                    .str("offer_relay", offer_relay),
                "other_relay",
            ),
            Self::CompareCode { code, name } => {
                (o.str("code", code).str("name", name), "compare_code")
            }
            Self::TypeCode { name } => (o.str("name", name), "type_code"),
            Self::WaitingForOtherDevice => (o, "waiting_for_other_device"),
            Self::Paired { name, device } => (o.str("device", device).str("name", name), "paired"),
            Self::Failed { error } => (o.str("error", error), "failed"),
            Self::Warning { message } => (o.str("message", message), "warning"),
        };
        o.str("step", step).end()
    }
}

/// What an `admit` was for.
#[derive(Debug, Clone)]
pub(crate) enum AdmitFor {
    NewDevice(Box<SessionToken>),
    Refresh(Box<SessionToken>),
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum JStep {
    /// The offer is made but not shown: the pairing link is connecting.
    Connecting,
    /// Asked the relay to join the offer's topic (request `req`). The
    /// offer is shown only once the relay said yes: a device that scanned
    /// it sooner would publish its hello to a topic nobody reads yet, and
    /// the relay keeps a topic's messages only for its subscribers of the
    /// moment, so the hello would be lost and both devices would wait.
    Subscribing {
        req: u64,
    },
    Hello,
    User,
    Welcome,
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum AStep {
    ConfirmRelay,
    Connecting,
    Subscribing {
        req: u64,
    },
    AwaitJoin,
    AwaitDecisions,
    Admitting,
    Welcoming {
        req: u64,
        name: String,
        device: String,
    },
}

pub(crate) enum Session {
    Joiner {
        joiner: Joiner,
        guest: IdentityKey,
        relay: String,
        topic: Topic,
        expires_at: u64,
        step: JStep,
    },
    Approver {
        approver: Option<Approver>,
        offer: PairingOffer,
        mode: ApproverMode,
        guest: IdentityKey,
        step: AStep,
        hello: Option<Vec<u8>>,
    },
}

impl Session {
    pub(crate) fn link_closed(&mut self) {}

    fn relay(&self) -> &str {
        match self {
            Self::Joiner { relay, .. } => relay,
            Self::Approver { offer, .. } => &offer.relay,
        }
    }
    fn topic(&self) -> Topic {
        match self {
            Self::Joiner { topic, .. } => *topic,
            Self::Approver { offer, .. } => offer.topic,
        }
    }
    fn expires_at(&self) -> u64 {
        match self {
            Self::Joiner { expires_at, .. } => *expires_at,
            Self::Approver { offer, .. } => offer.expires_at,
        }
    }
    fn guest(&self) -> &IdentityKey {
        match self {
            Self::Joiner { guest, .. } | Self::Approver { guest, .. } => guest,
        }
    }
}

impl Device {
    fn phase(&mut self, p: PairingPhase) {
        self.emit(Event::Pairing(p));
    }

    fn pairing_failed(&mut self, error: &str) {
        if self.pairing.take().is_some() {
            self.out.push(crate::Output::Close {
                link: LinkId::Pairing,
            });
        }
        self.phase(PairingPhase::Failed {
            error: error.to_owned(),
        });
    }

    fn publish_pairing(&mut self, payload: Vec<u8>) -> u64 {
        let req = self.take_req_pub();
        let topic = self.pairing.as_ref().map_or(Topic([0; 32]), Session::topic);
        self.send(
            LinkId::Pairing,
            &ClientFrame::Publish {
                req,
                to: Recipient::Topic(topic),
                payload: tandem_pair::Bytes(payload),
            },
        );
        req
    }

    pub(crate) fn take_req_pub(&mut self) -> u64 {
        let r = self.next_req;
        self.next_req += 1;
        r
    }

    fn open_pairing_link(&mut self) {
        if let Some(s) = &self.pairing {
            let url = s.relay().to_owned();
            self.out.push(crate::Output::Connect {
                link: LinkId::Pairing,
                url,
            });
        }
    }

    // ------------------------------------------------------------ joiner

    pub(crate) fn show_offer(&mut self, lifetime: u64, now: u64, rng: &mut impl CryptoRngCore) {
        if self.pairing.is_some() {
            self.fail("pairing", "a pairing is already in progress");
            return;
        }
        let others = self
            .state
            .group
            .members()
            .filter(|m| m.is_active() && m.device() != self.id())
            .count();
        if others > 0 {
            self.fail(
                "pairing",
                "this device is already paired with other devices; remove it from that wallet first",
            );
            return;
        }
        let relay = self.state.group.relay().to_owned();
        match Joiner::new(&relay, now, lifetime, rng) {
            Ok(joiner) => {
                let topic = joiner.offer().topic;
                let expires_at = joiner.offer().expires_at;
                self.pairing = Some(Session::Joiner {
                    joiner,
                    guest: IdentityKey::generate(rng),
                    relay,
                    topic,
                    expires_at,
                    step: JStep::Connecting,
                });
                // The offer is shown once the relay has this device on
                // its topic (`JStep::Subscribing`).
                self.open_pairing_link();
            }
            Err(e) => self.fail("pairing", &e.to_string()),
        }
    }

    pub(crate) fn joiner_confirm(&mut self, ok: bool, now: u64, rng: &mut impl CryptoRngCore) {
        let _ = now;
        let Some(Session::Joiner { joiner, step, .. }) = &mut self.pairing else {
            self.fail("pairing", "no code is waiting for confirmation");
            return;
        };
        if *step != JStep::User {
            self.fail("pairing", "no code is waiting for confirmation");
            return;
        }
        match joiner.confirm(ok, &self.identity, rng) {
            Ok(msg) => {
                *step = JStep::Welcome;
                self.publish_pairing(msg);
                if ok {
                    self.phase(PairingPhase::WaitingForOtherDevice);
                } else {
                    // Sent; the other device stops too. Nothing installed.
                    self.pairing_failed(&PairError::CodeMismatch.to_string());
                }
            }
            Err(e) => self.pairing_failed(&e.to_string()),
        }
    }

    fn joiner_message(&mut self, payload: &[u8], now: u64, rng: &mut impl CryptoRngCore) {
        let kind = Envelope::decode(payload).map(|e| e.header.kind);
        let name = self.state.name.clone();
        let Some(Session::Joiner { joiner, step, .. }) = &mut self.pairing else {
            return;
        };
        match (kind, &*step) {
            (Ok(EnvelopeKind::PairHello), JStep::Hello) => {
                match joiner.on_hello(payload, &self.identity, &name, now, rng) {
                    Ok((join, code)) => {
                        *step = JStep::User;
                        self.publish_pairing(join);
                        self.phase(PairingPhase::ConfirmCode {
                            code: code.to_string(),
                        });
                    }
                    Err(e @ PairError::OfferExpired { .. }) => self.pairing_failed(&e.to_string()),
                    Err(e) => self.phase(PairingPhase::Warning {
                        message: format!("ignored a pairing message: {e}"),
                    }),
                }
            }
            (Ok(EnvelopeKind::PairHello), _) => self.phase(PairingPhase::Warning {
                message: "a second device answered this pairing code; it was ignored. If your \
                          phone did not show a code, say the codes differ."
                    .into(),
            }),
            (Ok(EnvelopeKind::PairAccept), JStep::User | JStep::Welcome) => {
                match joiner.on_accept(payload, &self.identity, now) {
                    Ok(welcome) => self.install(welcome, now, rng),
                    Err(PairError::Tampered) => self.phase(PairingPhase::Warning {
                        message: "ignored an answer that failed authentication".into(),
                    }),
                    Err(e) => self.pairing_failed(&e.to_string()),
                }
            }
            _ => {}
        }
    }

    fn install(&mut self, welcome: tandem_pair::Welcome, now: u64, rng: &mut impl CryptoRngCore) {
        let _ = (now, rng);
        let name = self.state.name.clone();
        let approver = welcome.group.members().find(|m| {
            welcome
                .group
                .member(&welcome.group.me())
                .and_then(|me| me.token.as_ref())
                .is_some_and(|t| t.issuer() == m.identity)
        });
        let device = approver.map(|m| m.device().to_hex()).unwrap_or_default();
        self.state = State::with_group(&name, welcome.group);
        self.persist();
        self.pairing = None;
        self.out.push(crate::Output::Close {
            link: LinkId::Pairing,
        });
        self.phase(PairingPhase::Paired {
            name: welcome.approver_name,
            device,
        });
        // The old group's connection is of no use; join the new one.
        if !matches!(self.phase, crate::Phase::Closed) {
            self.close(LinkId::Main);
        }
        self.connect_main();
    }

    // ---------------------------------------------------------- approver

    pub(crate) fn accept_offer(
        &mut self,
        link: &str,
        mode: ApproverMode,
        allow_other_relay: bool,
        now: u64,
        rng: &mut impl CryptoRngCore,
    ) {
        if self.pairing.is_some() {
            self.fail("pairing", "a pairing is already in progress");
            return;
        }
        let offer = match PairingOffer::parse(link) {
            Ok(o) => o,
            Err(e) => return self.pairing_failed(&e.to_string()),
        };
        if let Err(e) = tandem_pair::offer::check_transport(&offer.relay) {
            return self.pairing_failed(&e.to_string());
        }
        if self
            .state
            .used_offers
            .iter()
            .any(|(t, _)| *t == offer.topic)
        {
            return self.pairing_failed(&PairError::OfferUsed.to_string());
        }
        if let Err(e) = offer.check(now) {
            return self.pairing_failed(&e.to_string());
        }
        let me = self.id();
        let may_approve = self.state.group.member(&me).is_some_and(|m| {
            m.is_active()
                && m.capabilities()
                    .contains(tandem_pair::Capabilities::APPROVE)
        });
        if !may_approve {
            return self.pairing_failed("this device is not allowed to approve new devices");
        }
        let group_relay = self.state.group.relay().to_owned();
        let other = offer.relay != group_relay;
        self.pairing = Some(Session::Approver {
            approver: None,
            offer: offer.clone(),
            mode,
            guest: IdentityKey::generate(rng),
            step: AStep::ConfirmRelay,
            hello: None,
        });
        if other && !allow_other_relay {
            self.phase(PairingPhase::OtherRelay {
                offer_relay: offer.relay,
                group_relay,
            });
            return;
        }
        self.start_approver(now, rng);
    }

    pub(crate) fn allow_other_relay(&mut self, now: u64, rng: &mut impl CryptoRngCore) {
        match &self.pairing {
            Some(Session::Approver {
                step: AStep::ConfirmRelay,
                ..
            }) => self.start_approver(now, rng),
            _ => self.fail("pairing", "nothing is waiting for that answer"),
        }
    }

    fn start_approver(&mut self, now: u64, rng: &mut impl CryptoRngCore) {
        let Some(Session::Approver {
            approver,
            offer,
            step,
            hello,
            ..
        }) = &mut self.pairing
        else {
            return;
        };
        match Approver::start(offer, &self.identity, now, rng) {
            Ok((a, h)) => {
                *approver = Some(a);
                *hello = Some(h);
                *step = AStep::Connecting;
                let used = (offer.topic, offer.expires_at);
                // One-time: remember the link before anything goes out.
                self.state.used_offers.push(used);
                self.persist();
                self.open_pairing_link();
                // Catch up with the group meanwhile.
                self.connect_main();
            }
            Err(e) => self.pairing_failed(&e.to_string()),
        }
    }

    pub(crate) fn approver_check(
        &mut self,
        check: CodeCheck,
        now: u64,
        rng: &mut impl CryptoRngCore,
    ) {
        let Some(Session::Approver {
            approver: Some(a),
            step: AStep::AwaitDecisions,
            ..
        }) = &mut self.pairing
        else {
            self.fail("pairing", "no code is waiting for confirmation");
            return;
        };
        match a.user_decision(check) {
            Ok(()) => {
                if !a.is_confirmed() {
                    self.phase(PairingPhase::WaitingForOtherDevice);
                }
                self.pairing_online(now, rng);
            }
            Err(e) => {
                let decline = a.decline(rng);
                self.publish_pairing(decline);
                self.pairing_failed(&e.to_string());
            }
        }
    }

    fn approver_message(&mut self, payload: &[u8], now: u64, rng: &mut impl CryptoRngCore) {
        let kind = Envelope::decode(payload).map(|e| e.header.kind);
        let Some(Session::Approver {
            approver: Some(a),
            step,
            mode,
            ..
        }) = &mut self.pairing
        else {
            return;
        };
        match (kind, &*step) {
            (Ok(EnvelopeKind::PairJoin), AStep::AwaitJoin) => match a.on_join(payload, now) {
                Ok(req) => {
                    *step = AStep::AwaitDecisions;
                    let p = match mode {
                        ApproverMode::Compare => PairingPhase::CompareCode {
                            code: req.code.to_string(),
                            name: req.name,
                        },
                        ApproverMode::Typing => PairingPhase::TypeCode { name: req.name },
                    };
                    self.phase(p);
                }
                Err(e @ (PairError::OfferExpired { .. } | PairError::CommitmentMismatch)) => {
                    self.pairing_failed(&e.to_string())
                }
                Err(e) => self.phase(PairingPhase::Warning {
                    message: format!("ignored a pairing message that failed its checks: {e}"),
                }),
            },
            (Ok(EnvelopeKind::PairConfirm), AStep::AwaitDecisions) => match a.on_confirm(payload) {
                Ok(()) => self.pairing_online(now, rng),
                Err(e @ PairError::MismatchReported) => self.pairing_failed(&e.to_string()),
                Err(e) => self.phase(PairingPhase::Warning {
                    message: format!("ignored a pairing message that failed its checks: {e}"),
                }),
            },
            _ => {}
        }
    }

    /// Called whenever the group link is caught up or a decision arrived:
    /// once both users confirmed, register the token and welcome.
    pub(crate) fn pairing_online(&mut self, now: u64, rng: &mut impl CryptoRngCore) {
        if !self.is_online() {
            return;
        }
        let Some(Session::Approver {
            approver: Some(a),
            step,
            ..
        }) = &mut self.pairing
        else {
            return;
        };
        if *step != AStep::AwaitDecisions || !a.is_confirmed() {
            return;
        }
        let token = match a.issue_token(
            &self.state.group,
            &self.identity,
            tandem_pair::Capabilities::ALL,
            crate::DEFAULT_TOKEN_LIFETIME_SECS,
            now,
            rng,
        ) {
            Ok(t) => t,
            Err(e) => return self.pairing_failed(&e.to_string()),
        };
        if let Some((epoch, _)) = self.state.group.awaiting_key() {
            let _ = epoch;
            let decline = a.decline(rng);
            self.publish_pairing(decline);
            return self.pairing_failed(
                "this device is waiting for the new group key after a revocation; try again in a minute",
            );
        }
        *step = AStep::Admitting;
        self.request(
            Pending::Admit(AdmitFor::NewDevice(Box::new(token.clone()))),
            now,
            |req| ClientFrame::Admit { req, token },
        );
    }

    pub(crate) fn admitted(&mut self, what: AdmitFor, now: u64, rng: &mut impl CryptoRngCore) {
        match what {
            AdmitFor::Refresh(token) => {
                let token = *token;
                match self.state.group.refresh_token(token.clone(), now) {
                    Ok(device) => {
                        let payload = GroupPayload::TokenRefreshed {
                            token: token.clone(),
                        };
                        match self.state.group.seal(&self.identity, &payload, now, rng) {
                            Ok(env) => {
                                self.state
                                    .push_outbox(Recipient::Group, env, "token refresh")
                            }
                            Err(e) => self.fail("refreshing", &e.to_string()),
                        }
                        self.persist();
                        self.emit(Event::TokenRefreshed {
                            device,
                            expires_at: token.expires_at(),
                        });
                        self.flush_outbox(now);
                    }
                    Err(e) => self.fail("refreshing", &e.to_string()),
                }
            }
            AdmitFor::NewDevice(token) => {
                let token = *token;
                let Some(Session::Approver {
                    approver: Some(a),
                    step,
                    ..
                }) = &mut self.pairing
                else {
                    return;
                };
                let name = a.request().map(|r| r.name.clone()).unwrap_or_default();
                match a.welcome(&mut self.state.group, &self.identity, &token, now, rng) {
                    Ok(welcome) => {
                        let device = token.subject_device().to_hex();
                        *step = AStep::Welcoming {
                            req: 0,
                            name: name.clone(),
                            device,
                        };
                        let announce = GroupPayload::MemberAdded {
                            token: token.clone(),
                            name,
                        };
                        match self.state.group.seal(&self.identity, &announce, now, rng) {
                            Ok(env) => self.state.push_outbox(
                                Recipient::Group,
                                env,
                                "new device announcement",
                            ),
                            Err(e) => self.fail("announcing the new device", &e.to_string()),
                        }
                        // The new member and its announcement are stored
                        // before the welcome leaves.
                        self.persist();
                        let req = self.publish_pairing(welcome);
                        if let Some(Session::Approver {
                            step: AStep::Welcoming { req: r, .. },
                            ..
                        }) = &mut self.pairing
                        {
                            *r = req;
                        }
                    }
                    Err(e) => {
                        let decline = a.decline(rng);
                        self.publish_pairing(decline);
                        self.pairing_failed(&e.to_string());
                    }
                }
            }
        }
    }

    pub(crate) fn admit_failed(
        &mut self,
        what: AdmitFor,
        message: &str,
        rng: &mut impl CryptoRngCore,
    ) {
        match what {
            AdmitFor::Refresh(_) => self.fail("refreshing", message),
            AdmitFor::NewDevice(_) => {
                if let Some(Session::Approver {
                    approver: Some(a), ..
                }) = &mut self.pairing
                {
                    let decline = a.decline(rng);
                    self.publish_pairing(decline);
                }
                self.pairing_failed(&format!("the relay refused the new device: {message}"));
            }
        }
    }

    pub(crate) fn cancel_pairing(&mut self, why: &str, rng: &mut impl CryptoRngCore) {
        if let Some(Session::Approver {
            approver: Some(a), ..
        }) = &mut self.pairing
        {
            let decline = a.decline(rng);
            self.publish_pairing(decline);
        }
        if let Some(Session::Joiner {
            joiner,
            step: JStep::User,
            ..
        }) = &mut self.pairing
        {
            if let Ok(m) = joiner.confirm(false, &self.identity, rng) {
                self.publish_pairing(m);
            }
        }
        if self.pairing.is_some() {
            self.pairing_failed(why);
        }
    }

    // ------------------------------------------------------ pairing link

    pub(crate) fn on_pairing_frame(
        &mut self,
        frame: RelayFrame,
        now: u64,
        rng: &mut impl CryptoRngCore,
    ) {
        let Some(session) = &self.pairing else {
            return;
        };
        match frame {
            RelayFrame::Challenge { nonce, .. } => {
                let guest = session.guest();
                match guest.sign_auth(session.relay(), &nonce) {
                    Ok(signature) => {
                        let f = ClientFrame::Auth {
                            identity: guest.public(),
                            membership: Membership::Guest,
                            signature,
                        };
                        self.send(LinkId::Pairing, &f);
                    }
                    Err(e) => self.pairing_failed(&e.to_string()),
                }
            }
            RelayFrame::AuthOk { .. } => {
                let (topic, until) = (session.topic(), session.expires_at());
                let req = self.take_req_pub();
                self.send(
                    LinkId::Pairing,
                    &ClientFrame::Subscribe {
                        req,
                        topic,
                        until: Some(until),
                    },
                );
                match &mut self.pairing {
                    Some(Session::Approver {
                        step: step @ AStep::Connecting,
                        ..
                    }) => *step = AStep::Subscribing { req },
                    Some(Session::Joiner {
                        step: step @ JStep::Connecting,
                        ..
                    }) => *step = JStep::Subscribing { req },
                    _ => {}
                }
            }
            RelayFrame::Ok { req } => {
                // Joiner: on the topic now, so the offer can be shown.
                if let Some(Session::Joiner {
                    joiner,
                    step: step @ JStep::Subscribing { .. },
                    ..
                }) = &mut self.pairing
                {
                    if *step == (JStep::Subscribing { req }) {
                        *step = JStep::Hello;
                        let link = joiner.offer().to_app_link();
                        let expires_at = joiner.offer().expires_at;
                        self.phase(PairingPhase::Offer { link, expires_at });
                        return;
                    }
                }
                // Approver: the hello goes out once the relay let this device
                // onto the topic (it refuses a third device, and an expired
                // topic, with a clear error).
                if let Some(Session::Approver {
                    step: step @ AStep::Subscribing { .. },
                    hello: Some(h),
                    ..
                }) = &mut self.pairing
                {
                    if *step == (AStep::Subscribing { req }) {
                        *step = AStep::AwaitJoin;
                        let h = h.clone();
                        self.publish_pairing(h);
                    }
                }
            }
            RelayFrame::Deliver {
                id, payload, to, ..
            } => {
                if to == Recipient::Topic(session.topic()) {
                    match session {
                        Session::Joiner { .. } => self.joiner_message(&payload.0, now, rng),
                        Session::Approver { .. } => self.approver_message(&payload.0, now, rng),
                    }
                }
                self.send(LinkId::Pairing, &ClientFrame::Ack { id });
            }
            RelayFrame::Published { req, .. } => {
                if let Some(Session::Approver {
                    step:
                        AStep::Welcoming {
                            req: r,
                            name,
                            device,
                        },
                    ..
                }) = &self.pairing
                {
                    if *r == req {
                        let (name, device) = (name.clone(), device.clone());
                        self.pairing = None;
                        self.out.push(crate::Output::Close {
                            link: LinkId::Pairing,
                        });
                        self.phase(PairingPhase::Paired { name, device });
                        self.flush_outbox(now);
                    }
                }
            }
            RelayFrame::Error { message, .. } => {
                self.pairing_failed(&format!("the relay refused the pairing: {message}"))
            }
            _ => {}
        }
    }

    pub(crate) fn pairing_link_lost(&mut self, reason: &str) {
        if self.pairing.is_some() {
            self.pairing_failed(&format!(
                "lost the connection to the pairing relay: {reason}"
            ));
        }
    }

    pub(crate) fn pairing_tick(&mut self, now: u64, rng: &mut impl CryptoRngCore) {
        let Some(s) = &self.pairing else { return };
        let exp = s.expires_at();
        let not_shown = matches!(
            s,
            Session::Joiner {
                step: JStep::Connecting | JStep::Subscribing { .. },
                ..
            }
        );
        let waiting_for_hello = matches!(
            s,
            Session::Joiner {
                step: JStep::Hello,
                ..
            }
        );
        if not_shown && now >= exp {
            self.pairing_failed(
                "the relay did not answer before the pairing code would have expired; \
                 check this device's connection and try again",
            );
        } else if waiting_for_hello && now >= exp {
            self.pairing_failed(
                &PairError::OfferExpired {
                    ago_secs: now - exp,
                }
                .to_string(),
            );
        } else if now >= exp.saturating_add(GRACE_SECS) {
            self.cancel_pairing(
                "the other device did not answer in time; pairing cancelled",
                rng,
            );
        }
    }
}

#[cfg(test)]
mod sorted_json_tests {
    use super::PairingPhase;

    #[test]
    fn sorted_json_is_what_value_writes() {
        let s = |t: &str| t.to_owned();
        for p in [
            PairingPhase::Offer {
                link: s("tandem:pair?v=2&x=\"y\""),
                expires_at: 77,
            },
            PairingPhase::ConfirmCode { code: s("012345") },
            PairingPhase::OtherRelay {
                offer_relay: s("wss://a"),
                group_relay: s("wss://b"),
            },
            PairingPhase::CompareCode {
                code: s("999999"),
                name: s("phone é"),
            },
            PairingPhase::TypeCode { name: s("tab\t") },
            PairingPhase::WaitingForOtherDevice,
            PairingPhase::Paired {
                name: s("n"),
                device: s("00ff"),
            },
            PairingPhase::Failed {
                error: s("it broke"),
            },
            PairingPhase::Warning {
                message: s("careful"),
            },
        ] {
            let want = serde_json::to_value(&p).unwrap().to_string();
            assert_eq!(p.sorted_json(), want);
            // And it still reads back as the same phase.
            assert_eq!(serde_json::from_str::<PairingPhase>(&want).unwrap(), p);
        }
    }
}
