//! The relay's membership rules, as pure functions over a snapshot of one
//! group ([`GroupView`]): who may admit which token, and which revocation
//! record may extend a group's chain.
//!
//! The revocation rule mirrors `tandem_pair::Group::check_next`, the rule
//! devices apply: the relay must accept exactly the records devices accept,
//! or every device's chain would stop at a record it refuses. Likewise an
//! admitted token is one devices accept in a `MemberAdded` or
//! `TokenRefreshed` message (`Group::add_member`, `Group::refresh_token`).

use tandem_pair::{
    Capabilities, DeviceId, ErrorCode, GroupId, IdentityPublic, RevocationId, RevocationRecord,
    RevocationTarget, SessionToken, MAX_MEMBERS,
};

use crate::store::{ChainHead, DeviceRecord};

/// Why a request is refused: the code and message of the error frame.
pub(crate) type Refusal = (ErrorCode, String);

fn refuse<T>(code: ErrorCode, message: impl Into<String>) -> Result<T, Refusal> {
    Err((code, message.into()))
}

/// One device of the group, decoded from its stored record.
#[derive(Debug, Clone)]
pub(crate) struct Member {
    pub(crate) device: DeviceId,
    pub(crate) identity: IdentityPublic,
    pub(crate) founder: bool,
    /// Its current token (none for the founder).
    pub(crate) token: Option<SessionToken>,
    pub(crate) revoked: bool,
}

impl Member {
    /// What it may do: everything for the founder, its current token's
    /// grant otherwise (the device-side rule, `tandem_pair::Member`).
    pub(crate) fn capabilities(&self) -> Capabilities {
        match (&self.token, self.founder) {
            (_, true) => Capabilities::ALL,
            (Some(t), false) => t.capabilities(),
            (None, false) => Capabilities(0),
        }
    }
}

/// A group as the relay knows it: its devices and its chain's head.
#[derive(Debug, Clone)]
pub(crate) struct GroupView {
    pub(crate) id: GroupId,
    pub(crate) members: Vec<Member>,
    /// Number of records in the chain.
    pub(crate) chain_len: u32,
    /// Id of the last record ([`RevocationId::NONE`] before any).
    pub(crate) head: RevocationId,
}

impl GroupView {
    /// Decodes stored records. A record that no longer decodes (it was
    /// verified when stored) is a storage fault, reported as such.
    pub(crate) fn load(
        id: GroupId,
        records: &[DeviceRecord],
        head: Option<ChainHead>,
    ) -> Result<Self, String> {
        let mut members = Vec::with_capacity(records.len());
        for r in records {
            let device = <[u8; 16]>::try_from(r.device.as_slice())
                .map(DeviceId)
                .map_err(|_| "stored device id has the wrong length".to_string())?;
            let identity = <[u8; 32]>::try_from(r.public_key.as_slice())
                .map(IdentityPublic)
                .map_err(|_| "stored identity key has the wrong length".to_string())?;
            let token = r
                .token
                .as_deref()
                .map(SessionToken::decode)
                .transpose()
                .map_err(|e| format!("stored token of device {device} is unreadable: {e}"))?;
            members.push(Member {
                device,
                identity,
                founder: r.founder,
                token,
                revoked: r.revoked.is_some(),
            });
        }
        let (chain_len, head) = match head {
            None => (0, RevocationId::NONE),
            Some(ChainHead { len, last }) => {
                let rec = RevocationRecord::decode(&last)
                    .map_err(|e| format!("stored revocation record is unreadable: {e}"))?;
                (len, rec.id())
            }
        };
        Ok(Self {
            id,
            members,
            chain_len,
            head,
        })
    }

    pub(crate) fn member(&self, device: &DeviceId) -> Option<&Member> {
        self.members.iter().find(|m| &m.device == device)
    }

    pub(crate) fn active(&self, device: &DeviceId) -> Option<&Member> {
        self.member(device).filter(|m| !m.revoked)
    }
}

/// What an accepted `admit` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admission {
    /// A device new to the group.
    New,
    /// A new current token for a device already in the group.
    Refresh,
    /// The device's current token again: nothing changes.
    Unchanged,
}

/// Checks an `admit{token}` from `sender`, an authenticated device of
/// `view`'s group, at `now`.
pub(crate) fn check_admit(
    view: &GroupView,
    sender: DeviceId,
    token: &SessionToken,
    now: u64,
) -> Result<Admission, Refusal> {
    if token.issuer_device() != sender {
        return refuse(
            ErrorCode::Forbidden,
            "a device may only register tokens it issued itself",
        );
    }
    if token.group() != view.id {
        return refuse(ErrorCode::Forbidden, "the token is for another group");
    }
    if let Err(e) = token.check(now) {
        return refuse(ErrorCode::Forbidden, format!("token refused: {e}"));
    }
    let Some(issuer) = view.active(&sender) else {
        return refuse(
            ErrorCode::Revoked,
            "this device was revoked; it cannot approve devices",
        );
    };
    if issuer.identity != token.issuer() {
        return refuse(
            ErrorCode::Forbidden,
            "the token's issuer key is not this device's",
        );
    }
    let caps = issuer.capabilities();
    if !caps.contains(Capabilities::APPROVE) {
        return refuse(
            ErrorCode::Forbidden,
            "this device's session token does not allow approving devices",
        );
    }
    if !caps.contains(token.capabilities()) {
        return refuse(
            ErrorCode::Forbidden,
            "the token grants capabilities the approving device does not hold",
        );
    }
    let subject = token.subject_device();
    let Some(existing) = view.member(&subject) else {
        if view.members.len() >= MAX_MEMBERS {
            return refuse(
                ErrorCode::TooLarge,
                format!(
                    "this wallet group already has {MAX_MEMBERS} devices (revoked ones count too), the most it can hold"
                ),
            );
        }
        return Ok(Admission::New);
    };
    if existing.revoked {
        return refuse(
            ErrorCode::Forbidden,
            format!("device {subject} was revoked in this group; it can never rejoin it"),
        );
    }
    let Some(current) = &existing.token else {
        return refuse(
            ErrorCode::Forbidden,
            format!("device {subject} founded this group and needs no token"),
        );
    };
    if current == token {
        return Ok(Admission::Unchanged);
    }
    // A refresh: same device, same encryption key, no new rights, later expiry.
    if current.subject_encryption() != token.subject_encryption() {
        return refuse(
            ErrorCode::Forbidden,
            "a refreshed token must keep the device's encryption key",
        );
    }
    if !current.capabilities().contains(token.capabilities()) {
        return refuse(
            ErrorCode::Forbidden,
            "a refreshed token may not widen the device's capabilities",
        );
    }
    if token.expires_at() <= current.expires_at() {
        return refuse(
            ErrorCode::Forbidden,
            "a refreshed token must expire later than the one it replaces",
        );
    }
    Ok(Admission::Refresh)
}

/// Checks a `revoke` record from `sender`, an authenticated device of
/// `view`'s group, at `now` (rule R). Returns the device the record removes:
/// the target device, or the device whose current token is the target.
pub(crate) fn check_revocation(
    view: &GroupView,
    sender: DeviceId,
    record: &RevocationRecord,
    now: u64,
) -> Result<DeviceId, Refusal> {
    if record.issuer_device() != sender {
        return refuse(
            ErrorCode::Forbidden,
            "the revocation must be signed by the device sending it",
        );
    }
    if record.group() != view.id {
        return refuse(ErrorCode::Forbidden, "the revocation is for another group");
    }
    if let Err(e) = record.check(now) {
        return refuse(ErrorCode::Forbidden, format!("revocation refused: {e}"));
    }
    if record.seq() != view.chain_len.saturating_add(1) || record.prev() != view.head {
        return refuse(
            ErrorCode::Conflict,
            format!(
                "the revocation is for position {} of the group's chain, but the chain has {} record(s) ending at {}; \
                 fetch the chain (revocations), apply it, and sign the revocation again if it is still needed",
                record.seq(),
                view.chain_len,
                view.head
            ),
        );
    }
    let Some(issuer) = view.active(&sender) else {
        return refuse(
            ErrorCode::Revoked,
            "this device was revoked; it cannot revoke others",
        );
    };
    if issuer.identity != record.issuer() {
        return refuse(
            ErrorCode::Forbidden,
            "the revocation's issuer key is not this device's",
        );
    }
    let target = match record.target() {
        RevocationTarget::Device(d) => match view.active(&d) {
            Some(m) => m.device,
            None => {
                return refuse(
                    ErrorCode::NotFound,
                    format!("device {d} is not an active device of this group at this relay"),
                )
            }
        },
        RevocationTarget::Token(t) => match view
            .members
            .iter()
            .find(|m| !m.revoked && m.token.as_ref().is_some_and(|tok| tok.id() == t))
        {
            Some(m) => m.device,
            None => {
                return refuse(
                    ErrorCode::NotFound,
                    format!("token {t} is not the current token of an active device of this group"),
                )
            }
        },
    };
    let leaves = target == sender;
    if !leaves && !issuer.capabilities().contains(Capabilities::REVOKE) {
        return refuse(
            ErrorCode::Forbidden,
            "this device's session token does not allow revoking other devices",
        );
    }
    let remaining = || {
        view.members
            .iter()
            .filter(move |m| !m.revoked && m.device != target)
    };
    match (record.rotator(), leaves) {
        (Some(r), false) if r == sender => {}
        (_, false) => return refuse(
            ErrorCode::Forbidden,
            "the device revoking another must name itself as rotator (it makes the next group key)",
        ),
        (None, true) if remaining().next().is_none() => {}
        (None, true) => {
            return refuse(
                ErrorCode::Forbidden,
                "a leaving device must name a remaining active device as rotator",
            )
        }
        (Some(r), true) if remaining().any(|m| m.device == r) => {}
        (Some(r), true) => {
            return refuse(
                ErrorCode::Forbidden,
                format!("rotator {r} is not a remaining active device of this group"),
            )
        }
    }
    Ok(target)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use rand_core::OsRng;
    use tandem_pair::{IdentityKey, RevocationReason, RevocationRequest, TokenRequest};

    use super::*;

    struct Fixture {
        keys: Vec<IdentityKey>,
        view: GroupView,
    }

    fn token(
        issuer: &IdentityKey,
        group: GroupId,
        subject: &IdentityKey,
        caps: Capabilities,
        exp: u64,
    ) -> SessionToken {
        SessionToken::issue(
            issuer,
            &TokenRequest {
                group,
                subject: subject.public(),
                subject_encryption: subject.encryption_public(),
                capabilities: caps,
                lifetime_secs: exp,
            },
            1000,
            &mut OsRng,
        )
    }

    /// Founder 0, and devices 1.. admitted by 0 with `caps[i]`.
    fn fixture(caps: &[Capabilities]) -> Fixture {
        let founder = IdentityKey::generate(&mut OsRng);
        let id = GroupId::founded(&founder.public(), &[1; 16]);
        let mut keys = vec![founder];
        let mut members = vec![Member {
            device: keys[0].device_id(),
            identity: keys[0].public(),
            founder: true,
            token: None,
            revoked: false,
        }];
        for c in caps {
            let k = IdentityKey::generate(&mut OsRng);
            members.push(Member {
                device: k.device_id(),
                identity: k.public(),
                founder: false,
                token: Some(token(&keys[0], id, &k, *c, 3600)),
                revoked: false,
            });
            keys.push(k);
        }
        Fixture {
            keys,
            view: GroupView {
                id,
                members,
                chain_len: 0,
                head: RevocationId::NONE,
            },
        }
    }

    fn record(
        f: &Fixture,
        by: usize,
        target: RevocationTarget,
        rotator: Option<DeviceId>,
    ) -> RevocationRecord {
        RevocationRecord::issue(
            &f.keys[by],
            &RevocationRequest {
                group: f.view.id,
                target,
                rotator,
                seq: f.view.chain_len + 1,
                prev: f.view.head,
                reason: RevocationReason::Lost,
                erase: false,
            },
            1000,
        )
    }

    fn code<T: core::fmt::Debug>(r: Result<T, Refusal>) -> ErrorCode {
        r.unwrap_err().0
    }

    #[test]
    fn revocation_rule_matches_the_device_rule() {
        let f = fixture(&[Capabilities::ALL, Capabilities::MESSAGE]);
        let [a, b, m] = [0, 1, 2].map(|i| f.keys[i].device_id());
        let dev = RevocationTarget::Device;
        // The founder revokes B, naming itself rotator.
        let r = record(&f, 0, dev(b), Some(a));
        assert_eq!(check_revocation(&f.view, a, &r, 1000).unwrap(), b);
        // Sent by someone else than its signer.
        assert_eq!(
            code(check_revocation(&f.view, b, &r, 1000)),
            ErrorCode::Forbidden
        );
        // From the future.
        assert_eq!(
            code(check_revocation(&f.view, a, &r, 1000 - 301)),
            ErrorCode::Forbidden
        );
        // Rotator must be the issuer when revoking another.
        let r = record(&f, 0, dev(b), Some(m));
        assert_eq!(
            code(check_revocation(&f.view, a, &r, 1000)),
            ErrorCode::Forbidden
        );
        let r = record(&f, 0, dev(b), None);
        assert_eq!(
            code(check_revocation(&f.view, a, &r, 1000)),
            ErrorCode::Forbidden
        );
        // Without REVOKE only leaving is allowed, naming a remaining rotator.
        let r = record(&f, 2, dev(b), Some(m));
        assert_eq!(
            code(check_revocation(&f.view, m, &r, 1000)),
            ErrorCode::Forbidden
        );
        let r = record(&f, 2, dev(m), Some(a));
        assert_eq!(check_revocation(&f.view, m, &r, 1000).unwrap(), m);
        let r = record(&f, 2, dev(m), Some(m));
        assert_eq!(
            code(check_revocation(&f.view, m, &r, 1000)),
            ErrorCode::Forbidden
        );
        let r = record(&f, 2, dev(m), None);
        assert_eq!(
            code(check_revocation(&f.view, m, &r, 1000)),
            ErrorCode::Forbidden
        );
        // Revoking one's own current token is leaving too.
        let t = f.view.members[2].token.as_ref().unwrap().id();
        let r = record(&f, 2, RevocationTarget::Token(t), Some(b));
        assert_eq!(check_revocation(&f.view, m, &r, 1000).unwrap(), m);
        // Unknown targets.
        let stranger = IdentityKey::generate(&mut OsRng).device_id();
        let r = record(&f, 0, dev(stranger), Some(a));
        assert_eq!(
            code(check_revocation(&f.view, a, &r, 1000)),
            ErrorCode::NotFound
        );
        let r = record(
            &f,
            0,
            RevocationTarget::Token(tandem_pair::TokenId([3; 16])),
            Some(a),
        );
        assert_eq!(
            code(check_revocation(&f.view, a, &r, 1000)),
            ErrorCode::NotFound
        );
        // Wrong position or link: conflict.
        let mut later = f.view.clone();
        later.chain_len = 1;
        later.head = RevocationId([9; 16]);
        let r = record(&f, 0, dev(b), Some(a));
        let (c, msg) = check_revocation(&later, a, &r, 1000).unwrap_err();
        assert_eq!(c, ErrorCode::Conflict);
        assert!(msg.contains("fetch the chain"), "{msg}");
        // The last device leaves with nobody to rotate.
        let solo = fixture(&[]);
        let r = record(&solo, 0, dev(solo.keys[0].device_id()), None);
        check_revocation(&solo.view, solo.keys[0].device_id(), &r, 1000).unwrap();
    }

    #[test]
    fn admit_rule_matches_the_device_rule() {
        let f = fixture(&[Capabilities::ALL, Capabilities::MESSAGE]);
        let [a, b, m] = [0, 1, 2].map(|i| f.keys[i].device_id());
        let new = IdentityKey::generate(&mut OsRng);
        let t = token(&f.keys[0], f.view.id, &new, Capabilities::ALL, 3600);
        assert_eq!(check_admit(&f.view, a, &t, 1000).unwrap(), Admission::New);
        // Only its issuer may register it.
        assert_eq!(
            code(check_admit(&f.view, b, &t, 1000)),
            ErrorCode::Forbidden
        );
        // Expired.
        assert_eq!(
            code(check_admit(&f.view, a, &t, 1000 + 3600)),
            ErrorCode::Forbidden
        );
        // No APPROVE; and no granting more than one holds.
        let t = token(&f.keys[2], f.view.id, &new, Capabilities::MESSAGE, 3600);
        assert_eq!(
            code(check_admit(&f.view, m, &t, 1000)),
            ErrorCode::Forbidden
        );
        let limited = fixture(&[Capabilities::MESSAGE | Capabilities::APPROVE]);
        let l = limited.keys[1].device_id();
        let t = token(
            &limited.keys[1],
            limited.view.id,
            &new,
            Capabilities::ALL,
            3600,
        );
        assert_eq!(
            code(check_admit(&limited.view, l, &t, 1000)),
            ErrorCode::Forbidden
        );
        let t = token(
            &limited.keys[1],
            limited.view.id,
            &new,
            Capabilities::MESSAGE,
            3600,
        );
        assert_eq!(
            check_admit(&limited.view, l, &t, 1000).unwrap(),
            Admission::New
        );
        // Refreshes: later expiry, no wider capabilities.
        let current = f.view.members[2].token.clone().unwrap();
        assert_eq!(
            check_admit(&f.view, a, &current, 1000).unwrap(),
            Admission::Unchanged
        );
        let t = token(
            &f.keys[1],
            f.view.id,
            &f.keys[2],
            Capabilities::MESSAGE,
            7200,
        );
        assert_eq!(
            check_admit(&f.view, b, &t, 1000).unwrap(),
            Admission::Refresh
        );
        let t = token(&f.keys[1], f.view.id, &f.keys[2], Capabilities::ALL, 7200);
        assert_eq!(
            code(check_admit(&f.view, b, &t, 1000)),
            ErrorCode::Forbidden
        );
        let t = token(&f.keys[1], f.view.id, &f.keys[2], Capabilities::MESSAGE, 60);
        assert_eq!(
            code(check_admit(&f.view, b, &t, 1000)),
            ErrorCode::Forbidden
        );
        // The founder needs no token; a revoked device never comes back.
        let t = token(&f.keys[1], f.view.id, &f.keys[0], Capabilities::MESSAGE, 60);
        assert_eq!(
            code(check_admit(&f.view, b, &t, 1000)),
            ErrorCode::Forbidden
        );
        let mut gone = f.view.clone();
        gone.members[2].revoked = true;
        let t = token(
            &f.keys[0],
            f.view.id,
            &f.keys[2],
            Capabilities::MESSAGE,
            7200,
        );
        assert_eq!(code(check_admit(&gone, a, &t, 1000)), ErrorCode::Forbidden);
        // A full group.
        let mut full = f.view.clone();
        while full.members.len() < MAX_MEMBERS {
            let mut extra = full.members[1].clone();
            extra.device = IdentityKey::generate(&mut OsRng).device_id();
            full.members.push(extra);
        }
        let t = token(&f.keys[0], f.view.id, &new, Capabilities::ALL, 3600);
        assert_eq!(code(check_admit(&full, a, &t, 1000)), ErrorCode::TooLarge);
    }
}
