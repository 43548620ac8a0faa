#![doc = include_str!("../README.md")]

use core::fmt;
use core::ops::RangeInclusive;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Version of these messages.
pub const VERSION: u32 = 1;
/// A message longer than this is refused unread.
pub const MAX_MESSAGE_LEN: usize = 16 * 1024;
/// How long a desktop waits for the phone unless the policy says otherwise.
pub const DEFAULT_TIMEOUT_SECS: u32 = 120;
/// The waits a policy may choose.
pub const TIMEOUT_RANGE: RangeInclusive<u32> = 30..=600;
/// Transactions moving more than this (thousandths of the chain's currency:
/// 100 is 0.1 ETH) need the phone unless the user picks another value.
pub const DEFAULT_VALUE_ABOVE_MILLI: u64 = 100;
/// Longest text field of a request (a site, an address, an amount).
const MAX_FIELD: usize = 512;
/// Most extra rows and warnings in a request.
const MAX_ROWS: usize = 16;

/// What the phone's user wants it to confirm before a desktop signs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Connecting a site (`eth_requestAccounts`) that has no permission yet.
    pub connect: bool,
    /// Transactions whose value is above this many thousandths of the
    /// chain's currency; `None`: no value rule.
    pub value_above_milli: Option<u64>,
    /// Unlimited token approvals, approvals of a whole collection and
    /// signed permits (the usual way a phishing site drains a wallet).
    pub approvals: bool,
    /// Adding a network (its RPC sees every request the wallet makes).
    pub add_network: bool,
    /// How long the desktop waits for an answer before it gives up.
    pub timeout_secs: u32,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            connect: true,
            value_above_milli: Some(DEFAULT_VALUE_ABOVE_MILLI),
            approvals: true,
            add_network: true,
            timeout_secs: DEFAULT_TIMEOUT_SECS,
        }
    }
}

impl Policy {
    /// Whether the values are in range.
    pub fn check(&self) -> Result<(), Error> {
        if !TIMEOUT_RANGE.contains(&self.timeout_secs) {
            return Err(Error::Invalid(format!(
                "the wait for the phone must be between {} and {} seconds",
                TIMEOUT_RANGE.start(),
                TIMEOUT_RANGE.end()
            )));
        }
        Ok(())
    }

    /// The rules in plain English, one line each (empty: nothing needs the phone).
    pub fn describe(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.connect {
            out.push("Connecting a new site".to_owned());
        }
        if let Some(v) = self.value_above_milli {
            out.push(format!("Sending more than {} (ETH, POL, …)", milli_text(v)));
        }
        if self.approvals {
            out.push("Unlimited token approvals and signed permits".to_owned());
        }
        if self.add_network {
            out.push("Adding a network".to_owned());
        }
        out
    }
}

/// `1500` → `"1.5"`: thousandths as a decimal.
pub fn milli_text(milli: u64) -> String {
    let whole = milli / 1000;
    let frac = milli % 1000;
    if frac == 0 {
        whole.to_string()
    } else {
        let f = format!("{frac:03}");
        format!("{whole}.{}", f.trim_end_matches('0'))
    }
}

/// `"0.25"` → `250`: a decimal amount typed by the user, in thousandths.
pub fn parse_milli(text: &str) -> Result<u64, Error> {
    let t = text.trim();
    let bad = || Error::Invalid(format!("“{t}” is not an amount like 0.5"));
    let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
    if (whole.is_empty() && frac.is_empty())
        || !whole.chars().all(|c| c.is_ascii_digit())
        || !frac.chars().all(|c| c.is_ascii_digit())
    {
        return Err(bad());
    }
    if frac.len() > 3 {
        return Err(Error::Invalid(
            "use at most three decimals (0.001 is the smallest step)".into(),
        ));
    }
    let whole: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| bad())?
    };
    let frac: u64 = format!("{frac:0<3}").parse().map_err(|_| bad())?;
    whole
        .checked_mul(1000)
        .and_then(|w| w.checked_add(frac))
        .ok_or_else(bad)
}

/// Which rule of the policy a request falls under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// A new site connection.
    Connect,
    /// A transaction above the value the user picked.
    Value,
    /// An unlimited token approval or an approval of a whole collection.
    Approval,
    /// A signed permit (EIP-2612, Permit2).
    Permit,
    /// Adding a network.
    AddNetwork,
    /// The signing account's key is on the phone (it signs there).
    KeyOnPhone,
}

impl Rule {
    /// Why the phone is asked, for both screens.
    pub fn reason(self) -> &'static str {
        match self {
            Self::Connect => "New site connections need your phone.",
            Self::Value => "Transactions above the amount you set need your phone.",
            Self::Approval => "Unlimited token approvals need your phone.",
            Self::Permit => "Signed permits (they let a spender move your tokens) need your phone.",
            Self::AddNetwork => "Adding a network needs your phone.",
            Self::KeyOnPhone => "This account's key is on your phone: it signs there.",
        }
    }
}

/// A chain, as the request names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Chain {
    /// EIP-155 chain id.
    pub id: u64,
    /// Its name in the desktop's wallet.
    pub name: String,
    /// Its currency.
    pub symbol: String,
}

/// One more labelled line of a request ("RPC URL", "Message", …).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Row {
    /// Label.
    pub label: String,
    /// Value, as text.
    pub value: String,
}

/// What a desktop asks its phone to confirm, decoded for a human. The
/// desktop signs exactly what this describes once the phone approves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    /// 32 hex digits from the desktop's CSPRNG: names this request once.
    pub id: String,
    /// The device (hex id) that must answer: the one that set the policy.
    pub to: String,
    /// Unix seconds.
    pub created_at: u64,
    /// After this (Unix seconds) the desktop has given up.
    pub expires_at: u64,
    /// Why the phone is asked.
    pub rule: Rule,
    /// The requesting site's origin, as the browser reported it.
    pub site: String,
    /// What will happen ("Send a transaction", "Connect to this site", …).
    pub action: String,
    /// The chain it is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain: Option<Chain>,
    /// The signing (or shared) account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// Who receives the value or the tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient: Option<String>,
    /// How much, with its unit ("1.5 ETH", "unlimited").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<String>,
    /// The token contract.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// Who may spend the tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spender: Option<String>,
    /// More lines.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<Row>,
    /// What the desktop's wallet warned about.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// For an account whose key is on the phone: exactly what to sign.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sign: Option<Sign>,
}

/// What kind of thing a [`Sign`] holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignKind {
    /// An EIP-191 `personal_sign` message.
    Personal,
    /// EIP-712 typed data (`eth_signTypedData_v4`).
    TypedData,
    /// A transaction (EIP-155 legacy, EIP-2930 or EIP-1559).
    Transaction,
}

/// What the phone signs for a desktop: the desktop recomputes the hash of
/// exactly this and checks the signature recovers to `account` before it
/// uses it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sign {
    /// What `payload` is.
    pub kind: SignKind,
    /// The signing account (`0x` address; its key is on the phone).
    pub account: String,
    /// Personal: the message as the dapp sent it (`0x` hex or text); typed
    /// data: its JSON; transaction: the filled `TransactionRequest` JSON
    /// (chain id, nonce, gas and fees as the desktop set them).
    pub payload: String,
}

impl Request {
    /// The lines the phone shows, in order: label and value.
    pub fn rows(&self) -> Vec<(&str, String)> {
        let mut out = vec![("Site", self.site.clone()), ("Action", self.action.clone())];
        if let Some(c) = &self.chain {
            out.push(("Network", format!("{} (chain {})", c.name, c.id)));
        }
        let mut opt = |label, v: &Option<String>| {
            if let Some(v) = v {
                out.push((label, v.clone()));
            }
        };
        opt("Account", &self.account);
        opt("Recipient", &self.recipient);
        opt("Amount", &self.amount);
        opt("Token", &self.token);
        opt("Spender", &self.spender);
        out.extend(
            self.details
                .iter()
                .map(|r| (r.label.as_str(), r.value.clone())),
        );
        out
    }

    fn check(&self) -> Result<(), Error> {
        if self.id.len() != 32 || !self.id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Error::Invalid("a request id is 32 hex digits".into()));
        }
        if self.expires_at <= self.created_at {
            return Err(Error::Invalid("a request expires after it was made".into()));
        }
        let texts = [&self.to, &self.site, &self.action]
            .into_iter()
            .chain(self.chain.iter().flat_map(|c| [&c.name, &c.symbol]))
            .chain(
                [
                    &self.account,
                    &self.recipient,
                    &self.amount,
                    &self.token,
                    &self.spender,
                ]
                .into_iter()
                .flatten(),
            )
            .chain(self.details.iter().flat_map(|r| [&r.label, &r.value]))
            .chain(self.warnings.iter());
        for t in texts {
            if t.chars().count() > MAX_FIELD {
                return Err(Error::Invalid(format!(
                    "a field of the request is longer than {MAX_FIELD} characters"
                )));
            }
        }
        if let Some(sign) = &self.sign {
            if !is_address(&sign.account) {
                return Err(Error::Invalid(
                    "the account to sign with is not an address".into(),
                ));
            }
            if self.rule != Rule::KeyOnPhone {
                return Err(Error::Invalid(
                    "only a request for an account on the phone carries something to sign".into(),
                ));
            }
        }
        if self.details.len() > MAX_ROWS || self.warnings.len() > MAX_ROWS {
            return Err(Error::Invalid(format!(
                "a request has at most {MAX_ROWS} extra rows and warnings"
            )));
        }
        Ok(())
    }
}

/// The phone's answer to one request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Answer {
    /// The request's id.
    pub id: String,
    /// [`digest`] of the request message exactly as the phone received it.
    pub digest: String,
    /// Approved (`true`) or rejected.
    pub approve: bool,
    /// For a request with [`Request::sign`], approved: the signature, `0x`
    /// and 65 bytes (`r || s || v`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
}

/// The messages of confirm-on-phone, as carried in group envelopes (a
/// [`Message::Request`] as a group *request*, the others as application data).
/// JSON, externally tagged (`{"answer":{"v":1,…}}`): that form is read
/// without buffering, which keeps the desktop's wasm module small.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
#[allow(clippy::large_enum_variant)] // one at a time, decoded and dropped
pub enum Message {
    /// The phone's policy (replaces the one before).
    Policy {
        /// [`VERSION`].
        v: u32,
        /// The rules.
        policy: Policy,
        /// Unix seconds, on the phone.
        set_at: u64,
    },
    /// A desktop asks.
    Request {
        /// [`VERSION`].
        v: u32,
        /// What.
        request: Request,
    },
    /// The phone answers.
    Answer {
        /// [`VERSION`].
        v: u32,
        /// The answer.
        answer: Answer,
    },
    /// The phone's accounts, for its user to use from the other devices
    /// (public addresses only; an empty list stops sharing them).
    Accounts {
        /// [`VERSION`].
        v: u32,
        /// `0x` addresses whose keys the phone holds.
        accounts: Vec<String>,
        /// Unix seconds, on the phone.
        set_at: u64,
    },
    /// The desktop stopped waiting (its user cancelled, or time ran out).
    Cancel {
        /// [`VERSION`].
        v: u32,
        /// The request's id.
        id: String,
        /// Why, for the phone's screen.
        reason: String,
    },
}

/// The messages a desktop reads (the phone's policy and answers): the same
/// wire form as [`Message`], without the phone's half, so the desktop's
/// module carries no reader for requests.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ToDesktop {
    /// See [`Message::Policy`].
    Policy {
        /// [`VERSION`].
        v: u32,
        /// The rules.
        policy: Policy,
        /// Unix seconds, on the phone.
        set_at: u64,
    },
    /// See [`Message::Answer`].
    Answer {
        /// [`VERSION`].
        v: u32,
        /// The answer.
        answer: Answer,
    },
    /// See [`Message::Accounts`].
    Accounts {
        /// [`VERSION`].
        v: u32,
        /// `0x` addresses.
        accounts: Vec<String>,
        /// Unix seconds, on the phone.
        set_at: u64,
    },
}

impl ToDesktop {
    /// Reads a message meant for a desktop (see [`Message::decode`]).
    pub fn decode(text: &str) -> Result<Self, Error> {
        check_len(text.len())?;
        let m: ToDesktop = serde_json::from_str(text)
            .map_err(|e| Error::Invalid(format!("not a message for a desktop: {e}")))?;
        let v = match &m {
            Self::Policy { v, policy, .. } => {
                policy.check()?;
                *v
            }
            Self::Accounts { v, accounts, .. } => {
                check_accounts(accounts)?;
                *v
            }
            Self::Answer { v, .. } => *v,
        };
        check_version(v)?;
        Ok(m)
    }
}

/// Most accounts a phone shares.
pub const MAX_ACCOUNTS: usize = 32;

/// Whether `a` is a `0x` address (40 hex digits).
pub fn is_address(a: &str) -> bool {
    a.len() == 42 && a.starts_with("0x") && a[2..].bytes().all(|b| b.is_ascii_hexdigit())
}

fn check_accounts(accounts: &[String]) -> Result<(), Error> {
    if accounts.len() > MAX_ACCOUNTS {
        return Err(Error::Invalid(format!(
            "a phone shares at most {MAX_ACCOUNTS} accounts"
        )));
    }
    match accounts.iter().find(|a| !is_address(a)) {
        Some(bad) => Err(Error::Invalid(format!(
            "“{}” is not an address (0x and 40 hex digits)",
            bad.chars().take(50).collect::<String>()
        ))),
        None => Ok(()),
    }
}

fn check_len(len: usize) -> Result<(), Error> {
    if len > MAX_MESSAGE_LEN {
        return Err(Error::Invalid(format!(
            "a confirmation message is at most {MAX_MESSAGE_LEN} bytes"
        )));
    }
    Ok(())
}

fn check_version(v: u32) -> Result<(), Error> {
    if v != VERSION {
        return Err(Error::Invalid(format!(
            "confirmation message version {v}; this app speaks {VERSION}"
        )));
    }
    Ok(())
}

impl Message {
    /// The bytes to send.
    pub fn encode(&self) -> Vec<u8> {
        // Serialising these plain structs cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Reads a message, refusing what is too long, of another version, or
    /// out of range.
    pub fn decode(bytes: &[u8]) -> Result<Self, Error> {
        check_len(bytes.len())?;
        let m: Message = serde_json::from_slice(bytes)
            .map_err(|e| Error::Invalid(format!("not a confirmation message: {e}")))?;
        let v = match &m {
            Self::Policy { v, policy, .. } => {
                policy.check()?;
                *v
            }
            Self::Request { v, request } => {
                request.check()?;
                *v
            }
            Self::Accounts { v, accounts, .. } => {
                check_accounts(accounts)?;
                *v
            }
            Self::Answer { v, .. } | Self::Cancel { v, .. } => *v,
        };
        check_version(v)?;
        Ok(m)
    }
}

/// SHA-256 of a request message, domain-separated, as 64 hex digits.
pub fn digest(message: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(b"tandem-confirm-v1\0");
    h.update(message);
    hex(&h.finalize())
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    s
}

/// A request the desktop sent and waits on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Sent {
    /// The request message as sent (JSON text; the desktop's waiting screen
    /// shows it).
    pub text: String,
    /// Its id.
    pub id: String,
    /// The device that must answer.
    pub to: String,
    /// [`digest`] of the bytes sent.
    pub digest: String,
    /// Unix seconds.
    pub expires_at: u64,
}

impl Sent {
    /// Builds the request message for `request` and what to wait for.
    pub fn new(request: Request) -> (Sent, Vec<u8>) {
        let id = request.id.clone();
        let to = request.to.clone();
        let expires_at = request.expires_at;
        let bytes = Message::Request {
            v: VERSION,
            request,
        }
        .encode();
        let sent = Sent {
            text: String::from_utf8(bytes.clone()).unwrap_or_default(),
            id,
            to,
            digest: digest(&bytes),
            expires_at,
        };
        (sent, bytes)
    }

    /// Checks an answer that arrived from device `from` (the group envelope
    /// proved it) at `now`: `Ok(approve)` if it is the answer to this
    /// request from the device it was sent to, in time.
    pub fn check(&self, from: &str, answer: &Answer, now: u64) -> Result<bool, Refusal> {
        if answer.id != self.id {
            return Err(Refusal::OtherRequest);
        }
        if !from.eq_ignore_ascii_case(&self.to) {
            return Err(Refusal::WrongDevice);
        }
        if answer.digest != self.digest {
            return Err(Refusal::WrongDigest);
        }
        if now > self.expires_at {
            return Err(Refusal::Late);
        }
        Ok(answer.approve)
    }
}

/// Why an answer does not count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// It answers another request.
    OtherRequest,
    /// It came from a device the request was not sent to.
    WrongDevice,
    /// It answers a request with other contents.
    WrongDigest,
    /// It came after the desktop gave up.
    Late,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::OtherRequest => "the answer is for another request",
            Self::WrongDevice => "the answer came from a device the request was not sent to",
            Self::WrongDigest => "the answer is for a request with other contents",
            Self::Late => "the answer came after the request expired",
        })
    }
}

/// A message or value that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// What is wrong, in plain language.
    Invalid(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Invalid(s) => f.write_str(s),
        }
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    const PHONE: &str = "aa11";
    const OTHER: &str = "bb22";

    fn request(id: &str) -> Request {
        Request {
            id: id.into(),
            to: PHONE.into(),
            created_at: 1_000,
            expires_at: 1_120,
            rule: Rule::Value,
            site: "https://app.example".into(),
            action: "Send a transaction".into(),
            chain: Some(Chain {
                id: 1,
                name: "Ethereum".into(),
                symbol: "ETH".into(),
            }),
            account: Some("0x1111111111111111111111111111111111111111".into()),
            recipient: Some("0x2222222222222222222222222222222222222222".into()),
            amount: Some("1.5 ETH".into()),
            token: None,
            spender: None,
            details: vec![],
            warnings: vec![],
            sign: None,
        }
    }

    fn id(n: u8) -> String {
        hex(&[n; 16])
    }

    /// The phone's side: decode what arrived, answer with its digest.
    fn answer(bytes: &[u8], approve: bool) -> Answer {
        let Ok(Message::Request { request, .. }) = Message::decode(bytes) else {
            panic!("not a request");
        };
        Answer {
            id: request.id,
            digest: digest(bytes),
            approve,
            signature: None,
        }
    }

    #[test]
    fn the_phone_answers_and_the_desktop_accepts_it_once_from_the_right_device() {
        let (sent, bytes) = Sent::new(request(&id(1)));
        assert_eq!(sent.check(PHONE, &answer(&bytes, true), 1_050), Ok(true));
        assert_eq!(sent.check(PHONE, &answer(&bytes, false), 1_050), Ok(false));
        // Device ids are hex: either case names the same device.
        assert_eq!(sent.check("AA11", &answer(&bytes, true), 1_050), Ok(true));
    }

    #[test]
    fn another_member_cannot_answer_for_the_phone() {
        // A second group member (a compromised laptop, say) sees the request
        // and answers "approve" with the right digest: not the device asked.
        let (sent, bytes) = Sent::new(request(&id(1)));
        assert_eq!(
            sent.check(OTHER, &answer(&bytes, true), 1_050),
            Err(Refusal::WrongDevice)
        );
    }

    #[test]
    fn an_answer_to_altered_contents_or_another_request_does_not_count() {
        let (sent, bytes) = Sent::new(request(&id(1)));
        // The phone was shown a smaller amount than the desktop signs.
        let mut shown = request(&id(1));
        shown.amount = Some("0.01 ETH".into());
        let (_, altered) = Sent::new(shown);
        assert_eq!(
            sent.check(PHONE, &answer(&altered, true), 1_050),
            Err(Refusal::WrongDigest)
        );
        // An approval of an earlier request replayed for this one.
        let (_, earlier) = Sent::new(request(&id(2)));
        let mut replay = answer(&earlier, true);
        assert_eq!(
            sent.check(PHONE, &replay, 1_050),
            Err(Refusal::OtherRequest)
        );
        replay.id = id(1);
        assert_eq!(sent.check(PHONE, &replay, 1_050), Err(Refusal::WrongDigest));
        assert_eq!(
            sent.check(PHONE, &answer(&bytes, true), 1_121),
            Err(Refusal::Late)
        );
    }

    #[test]
    fn messages_round_trip_and_bad_ones_are_refused_with_a_reason() {
        let m = Message::Policy {
            v: VERSION,
            policy: Policy::default(),
            set_at: 5,
        };
        assert_eq!(Message::decode(&m.encode()), Ok(m.clone()));
        let text = String::from_utf8(m.encode()).unwrap_or_default();
        assert!(text.starts_with("{\"policy\":{\"v\":1,"), "{text}");
        assert_eq!(
            ToDesktop::decode(&text),
            Ok(ToDesktop::Policy {
                v: VERSION,
                policy: Policy::default(),
                set_at: 5
            })
        );
        let (_, bytes) = Sent::new(request(&id(3)));
        assert!(matches!(
            Message::decode(&bytes),
            Ok(Message::Request { .. })
        ));

        let err = |b: &[u8]| match Message::decode(b) {
            Err(Error::Invalid(e)) => e,
            Ok(m) => panic!("accepted {m:?}"),
        };
        assert!(err(b"{\"nope\":{}}").contains("not a confirmation message"));
        assert!(err(&vec![b' '; MAX_MESSAGE_LEN + 1]).contains("at most"));
        let future = String::from_utf8(bytes.clone())
            .unwrap_or_default()
            .replace("\"v\":1", "\"v\":2");
        assert!(
            matches!(ToDesktop::decode(&future), Err(Error::Invalid(e)) if e.contains("for a desktop"))
        );
        assert!(err(future.as_bytes()).contains("version 2"));
        let mut r = request("xyz");
        assert!(err(&Message::Request {
            v: 1,
            request: r.clone()
        }
        .encode())
        .contains("32 hex"));
        r.id = id(4);
        r.site = "x".repeat(MAX_FIELD + 1);
        assert!(err(&Message::Request {
            v: 1,
            request: r.clone()
        }
        .encode())
        .contains("longer"));
        r.site = "https://a".into();
        r.expires_at = r.created_at;
        assert!(err(&Message::Request { v: 1, request: r }.encode()).contains("expires"));
        let p = Policy {
            timeout_secs: 5,
            ..Policy::default()
        };
        assert!(err(&Message::Policy {
            v: 1,
            policy: p,
            set_at: 0
        }
        .encode())
        .contains("between"));
        // Fields the phone does not know are refused, not silently dropped.
        assert!(err(br#"{"cancel":{"v":1,"id":"a","reason":"r","extra":1}}"#).contains("unknown"));
    }

    #[test]
    fn amounts_typed_by_the_user_read_as_thousandths() {
        for (text, milli) in [
            ("0.1", 100),
            ("1", 1000),
            ("1.5", 1500),
            (".25", 250),
            ("2.", 2000),
            (" 0.001 ", 1),
        ] {
            assert_eq!(parse_milli(text), Ok(milli), "{text}");
            assert_eq!(parse_milli(&milli_text(milli)), Ok(milli));
        }
        assert_eq!(milli_text(100), "0.1");
        assert_eq!(milli_text(2000), "2");
        for bad in [
            "",
            ".",
            "abc",
            "-1",
            "1,5",
            "0.0001",
            "99999999999999999999",
        ] {
            assert!(parse_milli(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_default_policy_covers_the_four_risky_actions_and_describes_them() {
        let p = Policy::default();
        assert_eq!(p.check(), Ok(()));
        assert_eq!(
            p.describe(),
            [
                "Connecting a new site",
                "Sending more than 0.1 (ETH, POL, …)",
                "Unlimited token approvals and signed permits",
                "Adding a network"
            ]
        );
        let none = Policy {
            connect: false,
            value_above_milli: None,
            approvals: false,
            add_network: false,
            ..p
        };
        assert!(none.describe().is_empty());
    }

    #[test]
    fn the_phone_shows_every_decoded_field() {
        let mut r = request(&id(1));
        r.token = Some("0x3333333333333333333333333333333333333333 (USDC)".into());
        r.spender = Some("0x4444444444444444444444444444444444444444".into());
        r.details.push(Row {
            label: "Nonce".into(),
            value: "7".into(),
        });
        let labels: Vec<&str> = r.rows().iter().map(|(l, _)| *l).collect();
        assert_eq!(
            labels,
            [
                "Site",
                "Action",
                "Network",
                "Account",
                "Recipient",
                "Amount",
                "Token",
                "Spender",
                "Nonce"
            ]
        );
        assert_eq!(r.rows()[2].1, "Ethereum (chain 1)");
    }

    #[test]
    fn a_phone_shares_addresses_only_and_bad_lists_are_refused() {
        let a = "0x1111111111111111111111111111111111111111".to_owned();
        let m = Message::Accounts {
            v: VERSION,
            accounts: vec![a.clone()],
            set_at: 9,
        };
        let bytes = m.encode();
        assert_eq!(Message::decode(&bytes), Ok(m));
        let text = String::from_utf8(bytes).unwrap_or_default();
        assert_eq!(
            ToDesktop::decode(&text),
            Ok(ToDesktop::Accounts {
                v: VERSION,
                accounts: vec![a.clone()],
                set_at: 9
            })
        );
        let bad = |accounts: Vec<String>| {
            let t = String::from_utf8(
                Message::Accounts {
                    v: VERSION,
                    accounts,
                    set_at: 0,
                }
                .encode(),
            )
            .unwrap_or_default();
            (Message::decode(t.as_bytes()), ToDesktop::decode(&t))
        };
        for list in [
            vec!["0x12".to_owned()],
            vec![format!("{a} ")],
            vec![a.replace("0x", "1x")],
            vec![a.clone(); MAX_ACCOUNTS + 1],
        ] {
            let (m, d) = bad(list.clone());
            assert!(matches!(m, Err(Error::Invalid(_))), "{list:?}");
            assert!(matches!(d, Err(Error::Invalid(_))), "{list:?}");
        }
    }

    #[test]
    fn a_request_to_sign_carries_its_payload_under_the_digest_and_only_for_a_phone_key() {
        let mut r = request(&id(5));
        r.rule = Rule::KeyOnPhone;
        r.sign = Some(Sign {
            kind: SignKind::TypedData,
            account: "0x1111111111111111111111111111111111111111".into(),
            payload: r#"{"types":{}}"#.into(),
        });
        let (sent, bytes) = Sent::new(r.clone());
        let Ok(Message::Request { request, .. }) = Message::decode(&bytes) else {
            panic!("not a request");
        };
        assert_eq!(request.sign, r.sign);
        // Another payload under the same id is another digest: an answer
        // to it does not count for this request.
        let mut other = r.clone();
        if let Some(s) = other.sign.as_mut() {
            s.payload = r#"{"types":{"X":[]}}"#.into();
        }
        let (_, other_bytes) = Sent::new(other);
        assert_eq!(
            sent.check(PHONE, &answer(&other_bytes, true), 1_050),
            Err(Refusal::WrongDigest)
        );
        let mut wrong = r.clone();
        wrong.rule = Rule::Value;
        let err = |r: Request| Message::decode(&Message::Request { v: 1, request: r }.encode());
        assert!(matches!(err(wrong), Err(Error::Invalid(e)) if e.contains("only a request")));
        if let Some(s) = r.sign.as_mut() {
            s.account = "bob".into();
        }
        assert!(matches!(err(r), Err(Error::Invalid(e)) if e.contains("not an address")));
        // The answer's signature travels with it.
        let mut a = answer(&bytes, true);
        a.signature = Some(format!("0x{}", "ab".repeat(65)));
        let m = Message::Answer { v: 1, answer: a };
        assert_eq!(Message::decode(&m.encode()), Ok(m));
    }
}
