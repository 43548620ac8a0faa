//! The pairing handshake between a new device (the *joiner*, which shows
//! the QR offer) and an already-trusted device (the *approver*, which scans
//! it). The user confirms the 6-digit code on **both** screens before
//! anything is installed on either side (numeric comparison, as Bluetooth
//! and Matrix SAS do).
//!
//! ```text
//! joiner                                   approver
//!  offer: relay, topic, E_J, H(N_J), exp  --QR-->
//!                                 <-- PairHello  (plain: E_A, N_A)
//!  th1 = H(version, relay, topic, exp, E_J, H(N_J), E_A, N_A)
//!  k_ja, k_aj = HKDF(salt = th1, ikm = X25519, info = label ‖ th1)
//!  PairJoin (k_ja: N_J, identity, x25519 pk, name, sig over th2) -->
//!  th2 = H(th1, N_J); code = HKDF(salt = th2, ikm = X25519, info = "code" ‖ th2) mod 10^6
//!  both screens show the code (or the approver's user types the joiner's)
//!  PairConfirm (k_ja: match | mismatch) -->   after the joiner's user decided
//!                                 <-- PairAccept (k_aj: welcome | declined)
//!                                     only after both users confirmed
//! ```
//!
//! The joiner commits to N_J in the QR and reveals it only after it has the
//! approver's key and nonce, so a man in the middle cannot pick keys that
//! make the two codes equal (he gets one guess in 10^6). Because the joiner
//! refuses a welcome until its own user confirmed its own code, whoever
//! answers a QR first cannot capture the new device; because the approver
//! sends the group key only after the joiner's confirmation, a mismatch on
//! either screen installs nothing anywhere.

use core::fmt;

use hkdf::Hkdf;
use rand_core::CryptoRngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::envelope::{Envelope, EnvelopeKind, Header};
use crate::group::{check_name, Group, GroupKey, Member, MAX_NAME_BYTES};
use crate::identity::{EncryptionPublic, IdentityKey, IdentityPublic, Signature, Topic};
use crate::offer::{commitment, validate_relay_url, PairingOffer};
use crate::token::{Capabilities, SessionToken, TokenRequest};
use crate::wire::{Reader, Writer};
use crate::{DeviceId, Error, GroupId, Result, PROTOCOL_VERSION};

const TRANSCRIPT_DOMAIN: &[u8] = b"tandem/pair/v2/transcript";
const KEY_J2A: &[u8] = b"tandem/pair/v2/key/joiner-to-approver";
const KEY_A2J: &[u8] = b"tandem/pair/v2/key/approver-to-joiner";
const CODE_INFO: &[u8] = b"tandem/pair/v2/code";
const JOIN_DOMAIN: &[u8] = b"tandem/pair/join/v2";
const APPROVE_DOMAIN: &[u8] = b"tandem/pair/approve/v2";

/// The 6-digit comparison code shown on both screens.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ComparisonCode(u32);

impl ComparisonCode {
    /// Parses what the user typed: 6 digits; whitespace and dashes ignored.
    pub fn parse(text: &str) -> Result<Self> {
        let digits: String = text
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect();
        if digits.len() != 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::malformed("comparison code", "expected 6 digits"));
        }
        Ok(Self(digits.parse().expect("6 ASCII digits")))
    }

    /// Constant-time equality.
    pub fn matches(&self, other: &Self) -> bool {
        self.0.to_be_bytes().ct_eq(&other.0.to_be_bytes()).into()
    }
}

impl fmt::Display for ComparisonCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:06}", self.0)
    }
}

impl fmt::Debug for ComparisonCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ComparisonCode({self})")
    }
}

fn hash_parts(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_be_bytes());
        h.update(p);
    }
    h.finalize().into()
}

/// Session secrets shared after the hello.
struct Keys {
    j2a: Zeroizing<[u8; 32]>,
    a2j: Zeroizing<[u8; 32]>,
    shared: Zeroizing<[u8; 32]>,
    th1: [u8; 32],
}

fn transcript1(offer: &PairingOffer, e_a: &[u8; 32], n_a: &[u8; 32]) -> [u8; 32] {
    hash_parts(&[
        TRANSCRIPT_DOMAIN,
        &[offer.version],
        offer.relay.as_bytes(),
        &offer.topic.0,
        &offer.expires_at.to_be_bytes(),
        &offer.key,
        &offer.commit,
        e_a,
        n_a,
    ])
}

fn derive(shared: [u8; 32], th1: [u8; 32]) -> Result<Keys> {
    // An all-zero shared secret means the peer sent a small-order point.
    if bool::from(shared.ct_eq(&[0u8; 32])) {
        return Err(Error::malformed("pairing key", "invalid X25519 public key"));
    }
    let hk = Hkdf::<Sha256>::new(Some(&th1), &shared);
    let expand = |label: &[u8]| {
        let mut info = label.to_vec();
        info.extend_from_slice(&th1);
        let mut out = Zeroizing::new([0u8; 32]);
        hk.expand(&info, out.as_mut_slice())
            .expect("32 bytes is a valid HKDF length");
        out
    };
    Ok(Keys {
        j2a: expand(KEY_J2A),
        a2j: expand(KEY_A2J),
        shared: Zeroizing::new(shared),
        th1,
    })
}

fn code_and_th2(keys: &Keys, n_j: &[u8; 32]) -> (ComparisonCode, [u8; 32]) {
    let th2 = hash_parts(&[&keys.th1, n_j]);
    let hk = Hkdf::<Sha256>::new(Some(&th2), keys.shared.as_slice());
    let mut info = CODE_INFO.to_vec();
    info.extend_from_slice(&th2);
    let mut out = [0u8; 8];
    hk.expand(&info, &mut out)
        .expect("8 bytes is a valid HKDF length");
    (
        ComparisonCode((u64::from_be_bytes(out) % 1_000_000) as u32),
        th2,
    )
}

fn join_signed(th2: &[u8; 32], id: &IdentityPublic, enc: &EncryptionPublic, name: &str) -> Vec<u8> {
    let mut w = Writer::with_domain(JOIN_DOMAIN);
    w.raw(th2).raw(&id.0).raw(&enc.0).var(name.as_bytes());
    w.0
}

fn approve_signed(th2: &[u8; 32], token: &SessionToken) -> Vec<u8> {
    let mut w = Writer::with_domain(APPROVE_DOMAIN);
    w.raw(th2).raw(&token.encode());
    w.0
}

crate::internally_tagged! {
    #[serde(tag = "kind")]
    #[serde(rename_all = "snake_case", deny_unknown_fields)]
    /// What the approver sends once both users decided (encrypted).
    #[allow(clippy::large_enum_variant)] // one per pairing
    enum AcceptBody {
        Welcome {
            group: GroupId,
            /// The relay the group uses (may differ from the offer's).
            relay: String,
            key: GroupKey,
            members: Vec<Member>,
            token: SessionToken,
            signature: Signature,
        },
        Declined,
    }
}

/// The joiner's message after its user compared the codes.
const CONFIRM_MATCH: u8 = 1;
const CONFIRM_MISMATCH: u8 = 2;

// ---------------------------------------------------------------- joiner

enum JoinerState {
    AwaitingHello,
    /// Code shown; waiting for this device's user.
    AwaitingUser {
        keys: Keys,
        th2: [u8; 32],
    },
    /// The user confirmed; waiting for the approver's welcome.
    AwaitingWelcome {
        keys: Keys,
        th2: [u8; 32],
    },
    Done,
}

/// The new device's side of the handshake.
pub struct Joiner {
    offer: PairingOffer,
    secret: x25519_dalek::StaticSecret,
    nonce: Zeroizing<[u8; 32]>,
    state: JoinerState,
}

impl fmt::Debug for Joiner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Joiner")
            .field("topic", &self.offer.topic)
            .finish_non_exhaustive()
    }
}

/// What a new device installs after a successful pairing.
#[derive(Debug)]
pub struct Welcome {
    /// Its view of the group (key, members, relay).
    pub group: Group,
    /// The approving device's name, to show "Paired with …".
    pub approver_name: String,
}

impl Joiner {
    /// Creates a one-time offer for `relay`, valid `lifetime_secs` from `now`.
    pub fn new(
        relay: &str,
        now: u64,
        lifetime_secs: u64,
        rng: &mut impl CryptoRngCore,
    ) -> Result<Self> {
        validate_relay_url(relay)?;
        let secret = x25519_dalek::StaticSecret::random_from_rng(&mut *rng);
        let mut nonce = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(nonce.as_mut_slice());
        let offer = PairingOffer {
            version: PROTOCOL_VERSION,
            relay: relay.to_owned(),
            topic: Topic::random(rng),
            key: x25519_dalek::PublicKey::from(&secret).to_bytes(),
            commit: commitment(&nonce),
            expires_at: now.saturating_add(lifetime_secs),
        };
        Ok(Self {
            offer,
            secret,
            nonce,
            state: JoinerState::AwaitingHello,
        })
    }

    /// The offer to show as a QR code.
    pub fn offer(&self) -> &PairingOffer {
        &self.offer
    }

    /// Handles the approver's hello: returns the join message to publish and
    /// the code to show. The offer is consumed: a second hello fails with
    /// [`Error::OfferUsed`].
    pub fn on_hello(
        &mut self,
        bytes: &[u8],
        me: &IdentityKey,
        name: &str,
        now: u64,
        rng: &mut impl CryptoRngCore,
    ) -> Result<(Vec<u8>, ComparisonCode)> {
        check_name(name)?;
        let env = Envelope::decode(bytes)?;
        if env.header.kind != EnvelopeKind::PairHello {
            return Err(Error::UnexpectedMessage(
                "expected the other device's hello",
            ));
        }
        if env.header.topic != self.offer.topic {
            return Err(Error::UnexpectedMessage("hello for another pairing"));
        }
        if !matches!(self.state, JoinerState::AwaitingHello) {
            return Err(Error::OfferUsed);
        }
        self.offer.check(now)?;
        let mut r = Reader::new("pairing hello", &env.body);
        let e_a: [u8; 32] = r.array()?;
        let n_a: [u8; 32] = r.array()?;
        r.finish()?;
        // From here on the offer is spent, whatever happens.
        self.state = JoinerState::Done;
        let shared = self
            .secret
            .diffie_hellman(&x25519_dalek::PublicKey::from(e_a))
            .to_bytes();
        let keys = derive(shared, transcript1(&self.offer, &e_a, &n_a))?;
        let (code, th2) = code_and_th2(&keys, &self.nonce);
        let id = me.public();
        let enc = me.encryption_public();
        let sig = me.sign(&join_signed(&th2, &id, &enc, name));
        let mut w = Writer::default();
        w.raw(self.nonce.as_slice())
            .raw(&id.0)
            .raw(&enc.0)
            .var(name.as_bytes())
            .raw(&sig.0);
        let plain = Zeroizing::new(w.0);
        let header = Header {
            kind: EnvelopeKind::PairJoin,
            topic: self.offer.topic,
            sender: me.device_id(),
            epoch: 0,
            seq: 0,
        };
        let out = Envelope::seal(&keys.j2a, header, &plain, rng).encode();
        self.state = JoinerState::AwaitingUser { keys, th2 };
        Ok((out, code))
    }

    /// Test vectors only: th1, th2 and the session keys, once the hello was
    /// handled.
    #[cfg(feature = "kat")]
    pub fn kat_secrets(&self) -> Option<crate::kat::Secrets> {
        match &self.state {
            JoinerState::AwaitingUser { keys, th2 }
            | JoinerState::AwaitingWelcome { keys, th2 } => Some(crate::kat::Secrets {
                th1: keys.th1,
                th2: *th2,
                k_ja: *keys.j2a,
                k_aj: *keys.a2j,
                shared: *keys.shared,
            }),
            _ => None,
        }
    }

    /// Whether the code is shown and this device's user has not decided yet.
    pub fn awaiting_user(&self) -> bool {
        matches!(self.state, JoinerState::AwaitingUser { .. })
    }

    /// This device's user compared the code shown here with the other
    /// device's. Returns the message telling the approver. On "they differ"
    /// the pairing ends here (nothing will be installed) and the message
    /// makes the approver stop too.
    pub fn confirm(
        &mut self,
        codes_match: bool,
        me: &IdentityKey,
        rng: &mut impl CryptoRngCore,
    ) -> Result<Vec<u8>> {
        let JoinerState::AwaitingUser { keys, th2 } =
            core::mem::replace(&mut self.state, JoinerState::Done)
        else {
            return Err(Error::UnexpectedMessage("no code waiting for confirmation"));
        };
        let header = Header {
            kind: EnvelopeKind::PairConfirm,
            topic: self.offer.topic,
            sender: me.device_id(),
            epoch: 0,
            seq: 1,
        };
        let answer = if codes_match {
            CONFIRM_MATCH
        } else {
            CONFIRM_MISMATCH
        };
        let out = Envelope::seal(&keys.j2a, header, &[answer], rng).encode();
        if codes_match {
            self.state = JoinerState::AwaitingWelcome { keys, th2 };
        }
        Ok(out)
    }

    /// Handles the approver's answer: the group this device now belongs to,
    /// or [`Error::Declined`]. A welcome that arrives before this device's
    /// user confirmed the code ends the pairing with [`Error::NotConfirmed`].
    pub fn on_accept(&mut self, bytes: &[u8], me: &IdentityKey, now: u64) -> Result<Welcome> {
        let env = Envelope::decode(bytes)?;
        if env.header.kind != EnvelopeKind::PairAccept || env.header.topic != self.offer.topic {
            return Err(Error::UnexpectedMessage(
                "expected the other device's answer",
            ));
        }
        let (keys, th2, confirmed) = match &self.state {
            JoinerState::AwaitingUser { keys, th2 } => (keys, *th2, false),
            JoinerState::AwaitingWelcome { keys, th2 } => (keys, *th2, true),
            _ => return Err(Error::UnexpectedMessage("no pairing in progress")),
        };
        // Only the other side of this handshake can produce this.
        let plain = env.open(&keys.a2j)?;
        self.state = JoinerState::Done;
        let body: AcceptBody = crate::wire::json_from_bytes(&plain)
            .map_err(|e| Error::malformed("pairing answer", e.to_string()))?;
        let AcceptBody::Welcome {
            group,
            relay,
            key,
            members,
            token,
            signature,
        } = body
        else {
            return Err(Error::Declined);
        };
        if !confirmed {
            return Err(Error::NotConfirmed);
        }
        token.issuer().verify(
            "pairing approval",
            &approve_signed(&th2, &token),
            &signature,
        )?;
        if token.issuer_device() != env.header.sender {
            return Err(Error::BadSignature("pairing approval"));
        }
        token.check_for(&me.public(), now)?;
        if token.group() != group {
            return Err(Error::WrongGroup("session token"));
        }
        let approver = members
            .iter()
            .find(|m| m.identity == token.issuer() && m.is_active())
            .ok_or_else(|| Error::NotMember(token.issuer_device().to_hex()))?;
        if !approver
            .capabilities()
            .contains(Capabilities::APPROVE | token.capabilities())
        {
            return Err(Error::NotAllowed {
                device: token.issuer_device().to_hex(),
                action: "approve this device with these capabilities",
            });
        }
        let approver_name = approver.name.clone();
        let my_name = members
            .iter()
            .find(|m| m.identity == me.public())
            .map(|m| m.name.clone())
            .unwrap_or_default();
        let mut members: Vec<Member> = members
            .into_iter()
            .filter(|m| m.identity != me.public())
            .collect();
        members.push(Member {
            identity: me.public(),
            encryption: me.encryption_public(),
            name: my_name,
            founder: false,
            token: Some(token),
            revoked: None,
            last_seen: Some(now),
        });
        let group = Group::joined(me.device_id(), group, relay, key, members)?;
        Ok(Welcome {
            group,
            approver_name,
        })
    }
}

// -------------------------------------------------------------- approver

/// The new device, as described in its (verified) join message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JoinRequest {
    /// Code to compare with the one on the new device's screen. In typing
    /// mode, do not show it: ask the user to type the new device's code.
    pub code: ComparisonCode,
    /// The new device's identity key.
    pub identity: IdentityPublic,
    /// Its X25519 key.
    pub encryption: EncryptionPublic,
    /// The name it gave itself.
    pub name: String,
}

/// The approving user's answer about the code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodeCheck {
    /// Compare mode: the user saw the same 6 digits on both screens.
    Match,
    /// Compare mode: the digits differ.
    Differ,
    /// Typing mode: the user typed the code the new device shows.
    Typed(ComparisonCode),
}

enum ApproverState {
    AwaitingJoin,
    AwaitingDecisions {
        request: JoinRequest,
        th2: [u8; 32],
        user: bool,
        joiner: bool,
    },
    Done,
}

/// The trusted device's side of the handshake.
pub struct Approver {
    offer: PairingOffer,
    keys: Keys,
    me: DeviceId,
    state: ApproverState,
}

impl fmt::Debug for Approver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Approver")
            .field("topic", &self.offer.topic)
            .finish_non_exhaustive()
    }
}

impl Approver {
    /// Answers a scanned offer: returns the hello to publish on the offer's
    /// topic. Fails if the offer expired.
    pub fn start(
        offer: &PairingOffer,
        me: &IdentityKey,
        now: u64,
        rng: &mut impl CryptoRngCore,
    ) -> Result<(Self, Vec<u8>)> {
        offer.check(now)?;
        let secret = x25519_dalek::EphemeralSecret::random_from_rng(&mut *rng);
        let e_a = x25519_dalek::PublicKey::from(&secret).to_bytes();
        let mut n_a = [0u8; 32];
        rng.fill_bytes(&mut n_a);
        let shared = secret
            .diffie_hellman(&x25519_dalek::PublicKey::from(offer.key))
            .to_bytes();
        let keys = derive(shared, transcript1(offer, &e_a, &n_a))?;
        let mut body = e_a.to_vec();
        body.extend_from_slice(&n_a);
        let header = Header {
            kind: EnvelopeKind::PairHello,
            topic: offer.topic,
            sender: DeviceId([0; 16]),
            epoch: 0,
            seq: 0,
        };
        let hello = Envelope::plain(header, body).encode();
        Ok((
            Self {
                offer: offer.clone(),
                keys,
                me: me.device_id(),
                state: ApproverState::AwaitingJoin,
            },
            hello,
        ))
    }

    /// The offer being answered.
    pub fn offer(&self) -> &PairingOffer {
        &self.offer
    }

    /// Test vectors and attacker tests only: the session keys
    /// (joiner-to-approver, approver-to-joiner).
    #[cfg(feature = "kat")]
    pub fn kat_session_keys(&self) -> ([u8; 32], [u8; 32]) {
        (*self.keys.j2a, *self.keys.a2j)
    }

    /// Handles the new device's join message: returns the code to compare
    /// and what the new device says about itself.
    pub fn on_join(&mut self, bytes: &[u8], now: u64) -> Result<JoinRequest> {
        let env = Envelope::decode(bytes)?;
        if env.header.kind != EnvelopeKind::PairJoin || env.header.topic != self.offer.topic {
            return Err(Error::UnexpectedMessage(
                "expected the new device's join message",
            ));
        }
        let plain = env.open(&self.keys.j2a)?;
        if !matches!(self.state, ApproverState::AwaitingJoin) {
            return Err(Error::UnexpectedMessage("join message received twice"));
        }
        self.state = ApproverState::Done;
        self.offer.check(now)?;
        let mut r = Reader::new("pairing join", &plain);
        let n_j: [u8; 32] = r.array()?;
        let identity = IdentityPublic(r.array()?);
        let encryption = EncryptionPublic(r.array()?);
        let name = core::str::from_utf8(r.var(MAX_NAME_BYTES)?)
            .map_err(|_| Error::malformed("device name", "not UTF-8"))?
            .to_owned();
        let sig = Signature(r.array()?);
        r.finish()?;
        check_name(&name)?;
        if !bool::from(commitment(&n_j).ct_eq(&self.offer.commit)) {
            return Err(Error::CommitmentMismatch);
        }
        let (code, th2) = code_and_th2(&self.keys, &n_j);
        identity.verify(
            "pairing join",
            &join_signed(&th2, &identity, &encryption, &name),
            &sig,
        )?;
        if identity.device_id() != env.header.sender {
            return Err(Error::BadSignature("pairing join"));
        }
        let request = JoinRequest {
            code,
            identity,
            encryption,
            name,
        };
        self.state = ApproverState::AwaitingDecisions {
            request: request.clone(),
            th2,
            user: false,
            joiner: false,
        };
        Ok(request)
    }

    /// The new device's user decided (its `PairConfirm`). A mismatch ends
    /// the pairing with [`Error::MismatchReported`]; send nothing more.
    pub fn on_confirm(&mut self, bytes: &[u8]) -> Result<()> {
        let env = Envelope::decode(bytes)?;
        if env.header.kind != EnvelopeKind::PairConfirm || env.header.topic != self.offer.topic {
            return Err(Error::UnexpectedMessage(
                "expected the new device's confirmation",
            ));
        }
        let ApproverState::AwaitingDecisions {
            request, joiner, ..
        } = &mut self.state
        else {
            return Err(Error::UnexpectedMessage(
                "no pairing waiting for a confirmation",
            ));
        };
        if env.header.sender != request.identity.device_id() || env.header.seq != 1 {
            return Err(Error::UnexpectedMessage("confirmation from another device"));
        }
        let plain = env.open(&self.keys.j2a)?;
        match plain.as_slice() {
            [CONFIRM_MATCH] => {
                *joiner = true;
                Ok(())
            }
            [CONFIRM_MISMATCH] => {
                self.state = ApproverState::Done;
                Err(Error::MismatchReported)
            }
            _ => Err(Error::malformed("pairing confirmation", "unknown answer")),
        }
    }

    /// This device's user decided. On a mismatch the pairing ends with
    /// [`Error::CodeMismatch`] (no second guess): publish [`Self::decline`]
    /// so the new device stops too.
    pub fn user_decision(&mut self, check: CodeCheck) -> Result<()> {
        let ApproverState::AwaitingDecisions { request, user, .. } = &mut self.state else {
            return Err(Error::UnexpectedMessage("nothing to confirm"));
        };
        let ok = match check {
            CodeCheck::Match => true,
            CodeCheck::Differ => false,
            CodeCheck::Typed(code) => code.matches(&request.code),
        };
        if ok {
            *user = true;
            Ok(())
        } else {
            self.state = ApproverState::Done;
            Err(Error::CodeMismatch)
        }
    }

    /// Whether both users confirmed: the welcome may be sent.
    pub fn is_confirmed(&self) -> bool {
        matches!(
            self.state,
            ApproverState::AwaitingDecisions {
                user: true,
                joiner: true,
                ..
            }
        )
    }

    /// The new device, once its join arrived.
    pub fn request(&self) -> Option<&JoinRequest> {
        match &self.state {
            ApproverState::AwaitingDecisions { request, .. } => Some(request),
            _ => None,
        }
    }

    /// After both confirmations: the new device's session token (nothing is
    /// changed yet). Register it with the relay (`admit`), then call
    /// [`Self::welcome`].
    pub fn issue_token(
        &self,
        group: &Group,
        me: &IdentityKey,
        capabilities: Capabilities,
        lifetime_secs: u64,
        now: u64,
        rng: &mut impl CryptoRngCore,
    ) -> Result<SessionToken> {
        let ApproverState::AwaitingDecisions {
            request,
            user: true,
            joiner: true,
            ..
        } = &self.state
        else {
            return Err(Error::UnexpectedMessage(
                "both devices must confirm the code first",
            ));
        };
        if me.device_id() != self.me || group.me() != self.me {
            return Err(Error::WrongSubject);
        }
        Ok(SessionToken::issue(
            me,
            &TokenRequest {
                group: group.id(),
                subject: request.identity,
                subject_encryption: request.encryption,
                capabilities,
                lifetime_secs,
            },
            now,
            rng,
        ))
    }

    /// Adds the new device to `group` with `token` (from
    /// [`Self::issue_token`]) and returns the welcome to publish. The group
    /// must hold the current epoch's key.
    pub fn welcome(
        &mut self,
        group: &mut Group,
        me: &IdentityKey,
        token: &SessionToken,
        now: u64,
        rng: &mut impl CryptoRngCore,
    ) -> Result<Vec<u8>> {
        let ApproverState::AwaitingDecisions {
            request,
            th2,
            user: true,
            joiner: true,
        } = &self.state
        else {
            return Err(Error::UnexpectedMessage(
                "both devices must confirm the code first",
            ));
        };
        if token.subject() != request.identity || token.issuer() != me.public() {
            return Err(Error::WrongSubject);
        }
        let key = group.current_key().cloned().ok_or(Error::AwaitingKey {
            epoch: group.chain_len(),
        })?;
        let th2 = *th2;
        let name = request.name.clone();
        group.add_member(token.clone(), &name, now)?;
        self.state = ApproverState::Done;
        let signature = me.sign(&approve_signed(&th2, token));
        let body = AcceptBody::Welcome {
            group: group.id(),
            relay: group.relay().to_owned(),
            key,
            members: group.welcome_members(),
            token: token.clone(),
            signature,
        };
        Ok(self.seal_accept(&body, rng))
    }

    /// The answer telling the new device that pairing was refused.
    pub fn decline(&mut self, rng: &mut impl CryptoRngCore) -> Vec<u8> {
        self.state = ApproverState::Done;
        self.seal_accept(&AcceptBody::Declined, rng)
    }

    fn seal_accept(&self, body: &AcceptBody, rng: &mut impl CryptoRngCore) -> Vec<u8> {
        let plain = Zeroizing::new(serde_json::to_vec(body).expect("welcome serializes"));
        let header = Header {
            kind: EnvelopeKind::PairAccept,
            topic: self.offer.topic,
            sender: self.me,
            epoch: 0,
            seq: 0,
        };
        Envelope::seal(&self.keys.a2j, header, &plain, rng).encode()
    }
}
