#![doc = include_str!("../README.md")]
// A command-line program: printing to stdout is its job.
#![allow(clippy::print_stdout)]

mod bench;
mod error;
mod state;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use rand_core::OsRng;
use tandem_keys::{Keyring, Mnemonic, WordCount};
use tandem_pair::{
    Approver, Bytes, Capabilities, ComparisonCode, DeviceId, Envelope, EnvelopeKind, GroupPayload,
    Joiner, Membership, PairingOffer, Recipient, RevocationReason, RevocationTarget,
    DEFAULT_OFFER_LIFETIME_SECS, DEFAULT_TOKEN_LIFETIME_SECS,
};
use tandem_relay::client::{Client, Incoming};

pub(crate) use error::{Error, Result};
use state::{now, password, Config, Device};

const USAGE: &str = "\
tandem: a command-line Tandem device

usage: tandem [--home DIR] <command> [options]
  --home DIR                 device state directory (default $TANDEM_HOME or ./.tandem-device)
  password: $TANDEM_PASSWORD, else read from stdin

commands:
  init [--name N] [--relay URL] [--words 12|24] [--import] [--show-phrase]
                             create this device: a new wallet (or --import a
                             recovery phrase read from stdin), an identity key
                             and a wallet group of one
  whoami                     device id, group, key epoch, relay, first address
  pair show [--lifetime S] [--timeout S] [--no-qr] [--qr-light-terminal]
                             (new device) show a one-time pairing QR and link,
                             show the 6-digit code, wait for approval
  pair accept <LINK> [--code DIGITS] [--timeout S]
                             (trusted device) answer a pairing link; compare
                             the code shown on the new device (typed or --code)
  devices [--offline]        list the group's devices with last-seen times
  revoke <DEVICE_ID> [--reason lost|compromised|retired]
                             revoke a device and rotate the group key
  refresh <DEVICE_ID> [--days N]
                             issue a fresh session token (default 30 days) for
                             a device and send it through the group
  send <TEXT>                send an end-to-end encrypted group message
  recv [--idle S] [--save-raw DIR]
                             receive and process waiting messages
  open <FILE>                try to decrypt a saved raw envelope (debugging)
  inject <FILE> [--flip N]   publish a saved raw envelope again, optionally
                             with byte N flipped (replay/tamper debugging)
  bench-pairing --relay URL [--runs N] [--markdown FILE]
                             measure offer -> both codes shown via a relay
";

/// Parsed command line: positionals and `--flag [value]` options.
struct Args {
    pos: Vec<String>,
    opts: BTreeMap<String, Option<String>>,
}

const SWITCHES: &[&str] = &[
    "--import",
    "--show-phrase",
    "--offline",
    "--no-qr",
    "--qr-light-terminal",
];

impl Args {
    fn parse(raw: impl Iterator<Item = String>) -> Result<Self> {
        let mut pos = Vec::new();
        let mut opts = BTreeMap::new();
        let mut it = raw.peekable();
        while let Some(a) = it.next() {
            // `--help` / `-h` anywhere asks for the usage text, as users expect.
            if a == "--help" || a == "-h" {
                return Ok(Self {
                    pos: vec!["help".into()],
                    opts: BTreeMap::new(),
                });
            }
            if a.starts_with("--") && a.len() > 2 {
                if SWITCHES.contains(&a.as_str()) {
                    opts.insert(a, None);
                } else {
                    let v = it
                        .next()
                        .ok_or_else(|| Error::Usage(format!("{a} needs a value")))?;
                    opts.insert(a, Some(v));
                }
            } else {
                pos.push(a);
            }
        }
        Ok(Self { pos, opts })
    }
    fn opt(&self, name: &str) -> Option<&str> {
        self.opts.get(name).and_then(|v| v.as_deref())
    }
    fn flag(&self, name: &str) -> bool {
        self.opts.contains_key(name)
    }
    fn num(&self, name: &str, default: u64) -> Result<u64> {
        match self.opt(name) {
            None => Ok(default),
            Some(v) => v
                .parse()
                .map_err(|_| Error::Usage(format!("{name}: `{v}` is not a number"))),
        }
    }
    fn check_known(&self, known: &[&str]) -> Result<()> {
        for k in self.opts.keys() {
            if k != "--home" && !known.contains(&k.as_str()) {
                return Err(Error::Usage(format!("unknown option {k}")));
            }
        }
        Ok(())
    }
}

fn out(line: impl AsRef<str>) {
    let mut s = std::io::stdout().lock();
    let _ = writeln!(s, "{}", line.as_ref());
    let _ = s.flush();
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = match Args::parse(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("tandem: {e}");
            return ExitCode::from(2);
        }
    };
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tandem: {e}");
            ExitCode::FAILURE
        }
    }
}

fn home(args: &Args) -> PathBuf {
    args.opt("--home")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("TANDEM_HOME").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from(".tandem-device"))
}

fn open(args: &Args) -> Result<Device> {
    Device::open(&home(args), &password()?)
}

async fn run(args: Args) -> Result<()> {
    let cmd: Vec<&str> = args.pos.iter().map(String::as_str).collect();
    match cmd.as_slice() {
        [] | ["help"] => {
            print!("{USAGE}");
            Ok(())
        }
        ["init"] => init(&args),
        ["whoami"] => whoami(&args),
        ["pair", "show"] => pair_show(&args).await,
        ["pair", "accept", link] => pair_accept(&args, link).await,
        ["devices"] => devices(&args).await,
        ["revoke", id] => revoke(&args, id).await,
        ["send", text] => send(&args, text).await,
        ["refresh", id] => refresh(&args, id).await,
        ["recv"] => recv(&args).await,
        ["open", file] => open_raw(&args, file),
        ["inject", file] => inject(&args, file).await,
        ["bench-pairing"] => bench::run(&args).await,
        _ => Err(Error::Usage(format!("unknown command `{}`", cmd.join(" ")))),
    }
}

fn init(args: &Args) -> Result<()> {
    args.check_known(&["--name", "--relay", "--words", "--import", "--show-phrase"])?;
    let name = args.opt("--name").unwrap_or("tandem-cli").to_owned();
    let relay = args
        .opt("--relay")
        .unwrap_or("ws://127.0.0.1:8787/v1/ws")
        .to_owned();
    tandem_pair::offer::validate_relay_url(&relay)?;
    let pw = password()?;
    let mnemonic = if args.flag("--import") {
        eprint!("recovery phrase: ");
        let mut line = zeroize::Zeroizing::new(String::new());
        std::io::stdin()
            .read_line(&mut line)
            .map_err(|e| Error::io("reading the recovery phrase", e))?;
        Mnemonic::parse(line.trim())?
    } else {
        let words = WordCount::from_words(args.num("--words", 12)? as usize)?;
        Mnemonic::generate(&mut OsRng, words)
    };
    let phrase = args.flag("--show-phrase").then(|| mnemonic.phrase());
    let keyring = Keyring::from_mnemonic(mnemonic, "")?;
    let device = Device::create(&home(args), Config { relay, name }, keyring, &pw)?;
    if let Some(p) = phrase {
        out(format!("recovery phrase: {}", p.as_str()));
    }
    print_whoami(&device);
    Ok(())
}

fn print_whoami(d: &Device) {
    out(format!("device: {}", d.identity.device_id()));
    out(format!("name: {}", d.config.name));
    out(format!("group: {}", d.group.id()));
    out(format!("epoch: {}", d.group.epoch()));
    out(format!("relay: {}", d.config.relay));
    if let Some(a) = d.keyring.accounts().next() {
        out(format!("address: {}", a.address));
    }
    let me = d.group.member(&d.identity.device_id());
    match me.and_then(|m| m.token.as_ref()) {
        Some(t) => out(format!("token_expires: {}", t.expires_at())),
        None => out("token_expires: never (founder)"),
    }
}

fn whoami(args: &Args) -> Result<()> {
    args.check_known(&[])?;
    print_whoami(&open(args)?);
    Ok(())
}

async fn connect_member(d: &Device, relay: &str) -> Result<Client> {
    Ok(Client::connect(relay, &d.identity, d.group.membership()?).await?)
}

/// Waits for the next payload on `topic`, acknowledging it.
async fn next_on_topic(
    c: &mut Client,
    topic: tandem_pair::Topic,
    deadline: Instant,
    waiting_for: &str,
) -> Result<Vec<u8>> {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Error::Timeout(format!(
                "no {waiting_for} arrived in time; the link may have expired or been used already"
            )));
        }
        let inc = match c.recv_timeout(left).await {
            Ok(i) => i,
            Err(tandem_relay::Error::Timeout(_)) => continue,
            Err(e) => return Err(e.into()),
        };
        let id = inc.id();
        c.ack(id).await?;
        if let Incoming::Message(m) = inc {
            if m.to == Recipient::Topic(topic) {
                return Ok(m.payload);
            }
        }
    }
}

async fn pair_show(args: &Args) -> Result<()> {
    args.check_known(&[
        "--lifetime",
        "--timeout",
        "--no-qr",
        "--qr-light-terminal",
        "--relay",
    ])?;
    let mut d = open(args)?;
    let others = d
        .group
        .members()
        .filter(|m| m.is_active() && m.device() != d.identity.device_id())
        .count();
    if others > 0 {
        return Err(Error::State(
            "this device is already paired with other devices; revoke it first or use a new --home"
                .into(),
        ));
    }
    let relay = args.opt("--relay").unwrap_or(&d.config.relay).to_owned();
    let lifetime = args.num("--lifetime", DEFAULT_OFFER_LIFETIME_SECS)?;
    let mut joiner = Joiner::new(&relay, now(), lifetime, &mut OsRng)?;
    let topic = joiner.offer().topic;
    let mut c = Client::connect(&relay, &d.identity, Membership::Guest).await?;
    c.subscribe(topic).await?;
    let uri = joiner.offer().to_uri();
    if !args.flag("--no-qr") {
        if let Ok(code) = qrcode::QrCode::new(uri.as_bytes()) {
            use qrcode::render::unicode::Dense1x2;
            // Most terminals draw light text on a dark background: print the
            // QR's light modules as blocks (like `qrencode -t UTF8`), unless
            // --qr-light-terminal says the background is light.
            let (dark, light) = if args.flag("--qr-light-terminal") {
                (Dense1x2::Dark, Dense1x2::Light)
            } else {
                (Dense1x2::Light, Dense1x2::Dark)
            };
            let img = code
                .render::<Dense1x2>()
                .dark_color(dark)
                .light_color(light)
                .quiet_zone(true)
                .build();
            out(img);
        }
    }
    out(format!("link: {uri}"));
    out(format!(
        "Scan the QR code (or paste the link) on a device already in your wallet; valid {lifetime} s, once."
    ));
    let deadline = Instant::now() + Duration::from_secs(args.num("--timeout", lifetime + 60)?);
    // Hello: the first valid one spends the offer; others are reported.
    let code = loop {
        let bytes = next_on_topic(&mut c, topic, deadline, "answer from your other device").await?;
        if Envelope::decode(&bytes).is_ok_and(|e| e.header.kind != EnvelopeKind::PairHello) {
            continue;
        }
        match joiner.on_hello(&bytes, &d.identity, &d.config.name, now()) {
            Ok((join, code)) => {
                c.publish(Recipient::Topic(topic), &join).await?;
                break code;
            }
            Err(e) if e.kind() == "offer_expired" => return Err(e.into()),
            Err(e) => eprintln!("tandem: ignored a pairing message: {e}"),
        }
    };
    out(format!("code: {code}"));
    out("Check that your other device shows the same 6 digits, and approve there.");
    let group = loop {
        let bytes =
            next_on_topic(&mut c, topic, deadline, "approval from your other device").await?;
        match Envelope::decode(&bytes).map(|e| e.header.kind) {
            Ok(EnvelopeKind::PairAccept) => {}
            Ok(EnvelopeKind::PairHello) => {
                // Someone else scanned the same QR, or a replay.
                if let Err(e) = joiner.on_hello(&bytes, &d.identity, &d.config.name, now()) {
                    eprintln!("tandem: ignored a second answer to this pairing link: {e}");
                }
                continue;
            }
            _ => continue,
        }
        match joiner.on_accept(&bytes, &d.identity, now()) {
            Ok(g) => break g,
            Err(e @ tandem_pair::Error::Declined) => return Err(e.into()),
            Err(e) if e.kind() == "unexpected_message" => return Err(e.into()),
            Err(e) => eprintln!("tandem: ignored a pairing message: {e}"),
        }
    };
    let _ = c.close().await;
    d.group = group;
    d.save()?;
    // Prove the relay accepts the new token.
    let check = connect_member(&d, &relay).await?;
    let _ = check.close().await;
    out(format!("paired: group {}", d.group.id()));
    Ok(())
}

async fn pair_accept(args: &Args, link: &str) -> Result<()> {
    args.check_known(&["--code", "--timeout"])?;
    let mut d = open(args)?;
    let offer = PairingOffer::parse(link)?;
    if d.used_offers.contains(&offer.topic) {
        return Err(tandem_pair::Error::OfferUsed.into());
    }
    offer.check(now())?;
    let typed = args.opt("--code").map(ComparisonCode::parse).transpose()?;
    let (mut approver, hello) = Approver::start(&offer, &d.identity, now(), &mut OsRng)?;
    // One-time: remember the link before anything goes on the wire.
    d.used_offers.push(offer.topic);
    d.save()?;
    let mut c = connect_member(&d, &offer.relay).await?;
    c.subscribe(offer.topic).await?;
    c.publish(Recipient::Topic(offer.topic), &hello).await?;
    let deadline = Instant::now() + Duration::from_secs(args.num("--timeout", 120)?);
    let req = loop {
        let bytes =
            next_on_topic(&mut c, offer.topic, deadline, "answer from the new device").await?;
        match Envelope::decode(&bytes) {
            Ok(e) if e.header.kind == EnvelopeKind::PairJoin => {}
            _ => continue,
        }
        match approver.on_join(&bytes, now()) {
            Ok(r) => break r,
            Err(e) if e.kind() == "offer_expired" || e.kind() == "commitment_mismatch" => {
                return Err(e.into())
            }
            Err(e) => eprintln!("tandem: ignored a pairing message: {e}"),
        }
    };
    out(format!(
        "new device: {} ({})",
        req.identity.device_id(),
        req.name
    ));
    out(format!("code: {}", req.code));
    let typed = match typed {
        Some(t) => t,
        None => {
            eprint!("Type the 6-digit code shown on the new device (anything else cancels): ");
            let line = tokio::task::spawn_blocking(|| {
                let mut l = String::new();
                std::io::stdin().read_line(&mut l).map(|_| l)
            })
            .await
            .map_err(|_| Error::State("reading the code failed".into()))?
            .map_err(|e| Error::io("reading the code", e))?;
            match ComparisonCode::parse(&line) {
                Ok(t) => t,
                Err(_) => {
                    let decline = approver.decline();
                    c.publish(Recipient::Topic(offer.topic), &decline).await?;
                    return Err(tandem_pair::Error::Declined.into());
                }
            }
        }
    };
    let now = now();
    match approver.confirm(
        &typed,
        &mut d.group,
        &d.identity,
        Capabilities::ALL,
        DEFAULT_TOKEN_LIFETIME_SECS,
        now,
        &mut OsRng,
    ) {
        Ok((accept, token)) => {
            let name = req.name.clone();
            let announce = d
                .group
                .seal(&d.identity, &GroupPayload::MemberAdded { token, name })?;
            d.save()?;
            c.publish(Recipient::Topic(offer.topic), &accept).await?;
            c.publish(Recipient::Group, &announce).await?;
            let _ = c.close().await;
            out(format!("approved: {}", req.identity.device_id()));
            Ok(())
        }
        Err(e) => {
            let decline = approver.decline();
            c.publish(Recipient::Topic(offer.topic), &decline).await?;
            let _ = c.close().await;
            Err(e.into())
        }
    }
}

fn fmt_time(t: Option<u64>, now: u64) -> String {
    match t {
        None => "never".into(),
        Some(t) if t + 5 >= now => "now".into(),
        Some(t) => format!("{} s ago", now.saturating_sub(t)),
    }
}

async fn devices(args: &Args) -> Result<()> {
    args.check_known(&["--offline"])?;
    let mut d = open(args)?;
    let now = now();
    let mut relay_only = Vec::new();
    if !args.flag("--offline") {
        let relay = d.config.relay.clone();
        let mut c = connect_member(&d, &relay).await?;
        for m in c.members().await? {
            if d.group.member(&m.device).is_none() {
                relay_only.push(m);
            } else if let Some(t) = m.last_seen {
                d.group.touch(&m.device, t);
            }
        }
        let _ = c.close().await;
        d.group.touch(&d.identity.device_id(), now);
        d.save()?;
    }
    let me = d.identity.device_id();
    for m in d.group.members() {
        let status = if m.device() == me {
            "this device"
        } else if m.is_active() {
            "active"
        } else {
            "revoked"
        };
        out(format!(
            "{}  {:<16}  {:<11}  {}last seen {}",
            m.device(),
            m.name,
            status,
            if m.founder { "founder  " } else { "" },
            fmt_time(m.last_seen, now)
        ));
    }
    for m in relay_only {
        // Paired by another device; its announcement has not arrived yet.
        out(format!(
            "{}  {:<16}  {:<11}  last seen {} (known to the relay only; run `tandem recv`)",
            m.device,
            "?",
            if m.revoked { "revoked" } else { "active" },
            fmt_time(m.last_seen, now)
        ));
    }
    Ok(())
}

async fn revoke(args: &Args, id: &str) -> Result<()> {
    args.check_known(&["--reason"])?;
    let mut d = open(args)?;
    let target = DeviceId::from_hex(id)?;
    if d.group.member(&target).is_none() {
        return Err(tandem_pair::Error::NotMember(target.to_hex()).into());
    }
    let reason: RevocationReason = args.opt("--reason").unwrap_or("unspecified").parse()?;
    let relay = d.config.relay.clone();
    let mut c = connect_member(&d, &relay).await?;
    let already = d.group.member(&target).and_then(|m| m.revoked.clone());
    let rev = match already {
        // Revoked here before but maybe never delivered (relay unreachable
        // half-way): send the same record again and rotate to a fresh key.
        Some(record) => {
            let key_updates = if d.group.is_active(&d.identity.device_id()) {
                d.group.rotate(&d.identity, record.id(), &mut OsRng)?
            } else {
                Vec::new()
            };
            out(format!(
                "{target} was already revoked here; sending the record again"
            ));
            tandem_pair::Revocation {
                record,
                key_updates,
            }
        }
        None => d.group.revoke(
            &d.identity,
            RevocationTarget::Device(target),
            reason,
            now(),
            &mut OsRng,
        )?,
    };
    d.save()?;
    if let Err(e) = c.revoke(rev.record.clone()).await {
        // The relay refuses a record it already applied; anything else is real.
        match &e {
            tandem_relay::Error::Relay { .. } if already_revoked_on_relay(&e) => {
                out(format!("the relay already had this revocation ({e})"))
            }
            _ => return Err(e.into()),
        }
    }
    for (device, bytes) in &rev.key_updates {
        c.publish(Recipient::Device(*device), bytes).await?;
    }
    let _ = c.close().await;
    out(format!("revoked: {target}"));
    out(format!(
        "group key rotated to epoch {} and sent to {} device(s)",
        d.group.epoch(),
        rev.key_updates.len()
    ));
    Ok(())
}

fn already_revoked_on_relay(e: &tandem_relay::Error) -> bool {
    matches!(e, tandem_relay::Error::Relay { code, message }
        if code == "revoked" || message.contains("already"))
}

async fn send(args: &Args, text: &str) -> Result<()> {
    args.check_known(&[])?;
    let mut d = open(args)?;
    let relay = d.config.relay.clone();
    let mut c = connect_member(&d, &relay).await?;
    let env = d.group.seal(
        &d.identity,
        &GroupPayload::App {
            data: Bytes(text.as_bytes().to_vec()),
        },
    )?;
    // Persist the sequence number before the message leaves.
    d.save()?;
    let id = c.publish(Recipient::Group, &env).await?;
    let _ = c.close().await;
    out(format!("sent: message {}", id.0));
    Ok(())
}

async fn recv(args: &Args) -> Result<()> {
    args.check_known(&["--idle", "--save-raw"])?;
    let mut d = open(args)?;
    let relay = d.config.relay.clone();
    let mut c = connect_member(&d, &relay).await?;
    let idle = Duration::from_secs(args.num("--idle", 2)?);
    let save_dir = args.opt("--save-raw").map(PathBuf::from);
    let me = d.identity.device_id();
    let mut n = 0u32;
    loop {
        let inc = match c.recv_timeout(idle).await {
            Ok(i) => i,
            Err(tandem_relay::Error::Timeout(_)) => break,
            Err(e) => return Err(e.into()),
        };
        let id = inc.id();
        let now = now();
        match inc {
            Incoming::Revoked { record, .. } => match d.group.apply_revocation(&record, now) {
                Ok(changed) => {
                    let target = match record.target() {
                        RevocationTarget::Device(x) => x.to_hex(),
                        RevocationTarget::Token(t) => format!("token {t}"),
                    };
                    if changed {
                        out(format!(
                            "revoked: {target} by {} ({:?})",
                            record.issuer_device(),
                            record.reason()
                        ));
                    }
                    if changed && d.group.is_active(&me) && d.group.must_rotate_after(&record) {
                        // The device left by itself and did not rotate; we do.
                        let ups = d.group.rotate(&d.identity, record.id(), &mut OsRng)?;
                        d.save()?;
                        for (device, bytes) in &ups {
                            c.publish(Recipient::Device(*device), bytes).await?;
                        }
                        out(format!(
                            "group key rotated to epoch {} and sent to {} device(s)",
                            d.group.epoch(),
                            ups.len()
                        ));
                    }
                }
                Err(e) => out(format!("rejected revocation: {e}")),
            },
            Incoming::Message(m) => {
                if let Some(dir) = &save_dir {
                    n += 1;
                    let path = dir.join(format!("{n:04}.b64"));
                    std::fs::write(&path, tandem_pair::wire::b64_encode(&m.payload))
                        .map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
                }
                match Envelope::decode(&m.payload).map(|e| e.header.kind) {
                    Ok(EnvelopeKind::KeyUpdate) => {
                        match d.group.open_key_update(&d.identity, &m.payload) {
                            Ok(epoch) => out(format!("group key rotated to epoch {epoch}")),
                            Err(e) => out(format!("rejected key update from {}: {e}", m.from)),
                        }
                    }
                    Ok(EnvelopeKind::Group) => match d.group.open(&m.payload, now) {
                        Ok(r) => match r.payload {
                            GroupPayload::App { data } => out(format!(
                                "message from {}: {}",
                                r.from,
                                String::from_utf8_lossy(&data.0)
                            )),
                            GroupPayload::MemberAdded { token, name } => out(format!(
                                "device token: {} ({name}) issued by {}, expires {}",
                                token.subject_device(),
                                r.from,
                                token.expires_at()
                            )),
                        },
                        Err(e) => out(format!("rejected message from {}: {e}", m.from)),
                    },
                    Ok(_) => {}
                    Err(e) => out(format!("rejected message from {}: {e}", m.from)),
                }
            }
            _ => {}
        }
        d.group.touch(&me, now);
        d.save()?;
        c.ack(id).await?;
    }
    let _ = c.close().await;
    out("done");
    Ok(())
}

fn read_raw(file: &str) -> Result<Vec<u8>> {
    let text =
        std::fs::read_to_string(file).map_err(|e| Error::io(format!("reading {file}"), e))?;
    Ok(tandem_pair::wire::b64_decode(
        "saved envelope",
        text.trim(),
    )?)
}

fn open_raw(args: &Args, file: &str) -> Result<()> {
    args.check_known(&[])?;
    let mut d = open(args)?;
    let bytes = read_raw(file)?;
    // Not saved: inspecting must not advance replay state.
    let r = d.group.open(&bytes, now())?;
    match r.payload {
        GroupPayload::App { data } => out(format!(
            "message from {}: {}",
            r.from,
            String::from_utf8_lossy(&data.0)
        )),
        GroupPayload::MemberAdded { token, .. } => {
            out(format!("device added: {}", token.subject_device()))
        }
    }
    Ok(())
}

async fn inject(args: &Args, file: &str) -> Result<()> {
    args.check_known(&["--flip"])?;
    let d = open(args)?;
    let mut bytes = read_raw(file)?;
    if let Some(i) = args.opt("--flip") {
        let i: usize = i
            .parse()
            .map_err(|_| Error::Usage("--flip takes a byte index".into()))?;
        let len = bytes.len();
        let b = bytes
            .get_mut(i)
            .ok_or_else(|| Error::Usage(format!("--flip {i}: the envelope has {len} bytes")))?;
        *b ^= 0x01;
    }
    let relay = d.config.relay.clone();
    let mut c = connect_member(&d, &relay).await?;
    let id = c.publish(Recipient::Group, &bytes).await?;
    let _ = c.close().await;
    out(format!("injected: message {}", id.0));
    Ok(())
}

async fn refresh(args: &Args, id: &str) -> Result<()> {
    args.check_known(&["--days"])?;
    let mut d = open(args)?;
    let target = DeviceId::from_hex(id)?;
    let days = args.num("--days", DEFAULT_TOKEN_LIFETIME_SECS / 86_400)?;
    let member = d
        .group
        .member(&target)
        .filter(|m| m.is_active())
        .ok_or_else(|| tandem_pair::Error::NotMember(target.to_hex()))?;
    let old = member
        .token
        .clone()
        .ok_or_else(|| Error::State("the founding device has no token to refresh".into()))?;
    let name = member.name.clone();
    let now = now();
    let token = old.refresh(&d.identity, days.saturating_mul(86_400), now, &mut OsRng);
    d.group.add_member(token.clone(), &name, now)?;
    let env = d.group.seal(
        &d.identity,
        &GroupPayload::MemberAdded {
            token: token.clone(),
            name,
        },
    )?;
    d.save()?;
    let relay = d.config.relay.clone();
    let mut c = connect_member(&d, &relay).await?;
    c.publish(Recipient::Group, &env).await?;
    let _ = c.close().await;
    out(format!("refreshed: {target} until {}", token.expires_at()));
    Ok(())
}
