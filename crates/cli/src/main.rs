#![doc = include_str!("../README.md")]
// A command-line program: printing to stdout is its job.
#![allow(clippy::print_stdout)]

mod bench;
mod error;
mod shell;
mod state;
mod sync;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use rand_core::OsRng;
use tandem_device::{ApproverMode, Command, Device, Event, PairingPhase};
use tandem_keys::{Keyring, Mnemonic, WordCount};
use tandem_pair::{
    CodeCheck, ComparisonCode, DeviceId, RevocationReason, DEFAULT_OFFER_LIFETIME_SECS,
};
use tandem_sync::audit::Happened;

pub(crate) use error::{Error, Result};
use shell::{Happening, Shell};
use state::{now, password, Home};

/// `tandem`: a command-line Tandem device.
#[derive(Debug, Parser)]
#[command(
    name = "tandem",
    about = "tandem: a command-line Tandem device",
    after_help = "The password of this device's vault: $TANDEM_PASSWORD, else read from stdin.\n\
The relay is wss://, or plain ws:// only on this machine (localhost, 127.0.0.0/8, [::1]).\n\
A relay that restarts closes with code 1012; waiting commands reconnect to it by themselves.\n\
Set TANDEM_TRACE=1 to see every engine event on stderr."
)]
pub(crate) struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Option<Cmd>,
}

/// Options every command takes (before or after the command).
#[derive(Debug, clap::Args)]
pub(crate) struct Global {
    /// Device state directory
    #[arg(
        long,
        global = true,
        value_name = "DIR",
        env = "TANDEM_HOME",
        default_value = ".tandem-device"
    )]
    home: PathBuf,
    /// Also trust this CA (PEM) for a wss:// relay; the built-in web roots are always trusted
    #[arg(long, global = true, value_name = "PEM", env = tandem_connect::CA_ENV)]
    ca_file: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Create this device: a new wallet (or --import a recovery phrase read
    /// from stdin), an identity key and a wallet group of one on the relay
    Init {
        /// This device's name, shown on the other devices
        #[arg(long, value_name = "N", default_value = "tandem-cli")]
        name: String,
        /// The wallet's relay
        #[arg(long, value_name = "URL", default_value = "ws://127.0.0.1:8787/v1/ws")]
        relay: String,
        /// Recovery phrase length: 12 or 24
        #[arg(long, value_name = "12|24", default_value_t = 12)]
        words: usize,
        /// Import a recovery phrase (read from stdin) instead of making one
        #[arg(long)]
        import: bool,
        /// Print the recovery phrase
        #[arg(long)]
        show_phrase: bool,
    },
    /// Device id, group, key epoch, relay, first address
    Whoami,
    /// Pair a new device with this wallet
    #[command(subcommand)]
    Pair(PairCmd),
    /// List the group's devices with last-seen times
    Devices {
        /// From this device's state only, without asking the relay
        #[arg(long)]
        offline: bool,
    },
    /// Revoke a device and rotate the group key
    Revoke {
        /// The device (hex id, from `tandem devices`)
        device_id: String,
        /// lost, compromised or retired (default unspecified)
        #[arg(long, value_name = "REASON")]
        reason: Option<String>,
        /// (lost or compromised only) ask that device to erase its wallet too
        #[arg(long)]
        erase: bool,
    },
    /// Remove this device from its wallet group
    Leave,
    /// Issue a fresh session token for a device and send it through the group
    Refresh {
        /// The device (hex id)
        device_id: String,
        /// The token's lifetime in days
        #[arg(long, value_name = "N", default_value_t = tandem_pair::DEFAULT_TOKEN_LIFETIME_SECS / 86_400)]
        days: u64,
    },
    /// Send an end-to-end encrypted group message
    Send {
        /// The message
        text: String,
    },
    /// Receive and process waiting messages
    Recv {
        /// Stop after this many seconds without a message
        #[arg(long, value_name = "S", default_value_t = 2)]
        idle: u64,
    },
    /// Synced wallet metadata (names, tokens, address book, networks…),
    /// end-to-end encrypted through the relay
    #[command(subcommand)]
    Sync(sync::SyncCmd),
    /// The signed, hash-chained audit log of every device, checked entry by
    /// entry (altered, removed or reordered entries are named)
    Audit {
        /// From this device's state only, without asking the relay
        #[arg(long)]
        offline: bool,
        /// Print JSON (every entry with its signature and what reading found)
        #[arg(long, conflicts_with = "csv")]
        json: bool,
        /// Print CSV
        #[arg(long)]
        csv: bool,
    },
    /// Measure offer -> both codes shown via a relay
    BenchPairing(bench::BenchArgs),
}

#[derive(Debug, Subcommand)]
enum PairCmd {
    /// (new device) show a one-time pairing QR and link, then the 6-digit
    /// code; answer y if your other device shows the same code (stdin)
    Show {
        /// The offer's lifetime in seconds
        #[arg(long, value_name = "S", default_value_t = DEFAULT_OFFER_LIFETIME_SECS)]
        lifetime: u64,
        /// Give up after this many seconds (default: the lifetime + 120)
        #[arg(long, value_name = "S")]
        timeout: Option<u64>,
        /// Print the link only, no QR code
        #[arg(long)]
        no_qr: bool,
        /// Draw the QR code for a terminal with a light background
        #[arg(long)]
        qr_light_terminal: bool,
    },
    /// (trusted device) answer a pairing link: type the code the new
    /// device shows (or --code), or with --compare see the code here and
    /// answer y/n
    Accept {
        /// The pairing link (or QR contents)
        link: String,
        /// Show the code here and ask y/n instead of typing it
        #[arg(long)]
        compare: bool,
        /// The code the new device shows (instead of typing it)
        #[arg(long, value_name = "DIGITS")]
        code: Option<String>,
        /// Accept a link naming another relay than this wallet's
        #[arg(long)]
        allow_other_relay: bool,
        /// Give up after this many seconds
        #[arg(long, value_name = "S", default_value_t = 180)]
        timeout: u64,
    },
}

fn out(line: impl AsRef<str>) {
    let mut s = std::io::stdout().lock();
    let _ = writeln!(s, "{}", line.as_ref());
    let _ = s.flush();
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    // Usage errors exit 2 with clap's message naming the option.
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tandem: {e}");
            ExitCode::FAILURE
        }
    }
}

/// What a `wss://` relay's certificate must chain to: the built-in roots,
/// and the CA of `--ca-file` or `TANDEM_RELAY_CA`.
fn trust(g: &Global) -> Result<tandem_connect::Trust> {
    Ok(match &g.ca_file {
        Some(p) => tandem_connect::Trust::with_ca_file(p)?,
        None => tandem_connect::Trust::from_env()?,
    })
}

/// Opens the device and wraps it in a shell.
fn open(g: &Global) -> Result<Shell> {
    let trust = trust(g)?;
    let (home, identity, state) = Home::open(&g.home, &password()?)?;
    Ok(Shell::new(Device::new(identity, state), Some(home), trust))
}

async fn run(cli: Cli) -> Result<()> {
    let g = &cli.global;
    let Some(cmd) = cli.command else {
        use clap::CommandFactory;
        print!("{}", Cli::command().render_help());
        return Ok(());
    };
    match cmd {
        Cmd::Init {
            name,
            relay,
            words,
            import,
            show_phrase,
        } => init(g, &name, &relay, words, import, show_phrase),
        Cmd::Whoami => whoami(g),
        Cmd::Pair(PairCmd::Show {
            lifetime,
            timeout,
            no_qr,
            qr_light_terminal,
        }) => pair_show(g, lifetime, timeout, !no_qr, qr_light_terminal).await,
        Cmd::Pair(PairCmd::Accept {
            link,
            compare,
            code,
            allow_other_relay,
            timeout,
        }) => {
            pair_accept(
                g,
                &link,
                compare,
                code.as_deref(),
                allow_other_relay,
                timeout,
            )
            .await
        }
        Cmd::Devices { offline } => devices(g, offline).await,
        Cmd::Revoke {
            device_id,
            reason,
            erase,
        } => revoke(g, Some(&device_id), reason.as_deref(), erase).await,
        Cmd::Leave => revoke(g, None, None, false).await,
        Cmd::Send { text } => send(g, &text).await,
        Cmd::Refresh { device_id, days } => refresh(g, &device_id, days).await,
        Cmd::Recv { idle } => recv(g, idle).await,
        Cmd::Sync(c) => sync::run(g, c).await,
        Cmd::Audit { offline, json, csv } => sync::audit(g, offline, json, csv).await,
        Cmd::BenchPairing(b) => bench::run(g, &b).await,
    }
}

fn init(
    g: &Global,
    name: &str,
    relay: &str,
    words: usize,
    import: bool,
    show_phrase: bool,
) -> Result<()> {
    tandem_pair::offer::check_transport(relay)?;
    let pw = password()?;
    let mnemonic = if import {
        eprint!("recovery phrase: ");
        let mut line = zeroize::Zeroizing::new(String::new());
        std::io::stdin()
            .read_line(&mut line)
            .map_err(|e| Error::io("reading the recovery phrase", e))?;
        Mnemonic::parse(line.trim())?
    } else {
        let words = WordCount::from_words(words)?;
        Mnemonic::generate(&mut OsRng, words)
    };
    let phrase = show_phrase.then(|| mnemonic.phrase());
    let keyring = Keyring::from_mnemonic(mnemonic, "")?;
    let (home, identity, state) = Home::create(&g.home, name, relay, keyring, &pw)?;
    if let Some(p) = phrase {
        out(format!("recovery phrase: {}", p.as_str()));
    }
    print_whoami(&home, &Device::new(identity, state));
    Ok(())
}

fn print_whoami(home: &Home, d: &Device) {
    let g = &d.state().group;
    out(format!("device: {}", d.id()));
    out(format!("name: {}", d.state().name));
    out(format!("group: {}", g.id()));
    out(format!("epoch: {}", g.epoch()));
    out(format!("relay: {}", g.relay()));
    if let Some(a) = home.keyring().accounts().next() {
        out(format!("address: {}", a.address));
    }
    match g.member(&d.id()).and_then(|m| m.token.as_ref()) {
        Some(t) => out(format!("token_expires: {}", t.expires_at())),
        None => out("token_expires: never (founder)"),
    }
    if let Some(r) = d.removed() {
        out(format!(
            "removed: by {} at {} ({})",
            r.by_name.as_deref().unwrap_or(&r.by),
            r.at,
            r.reason
        ));
    }
}

fn whoami(g: &Global) -> Result<()> {
    let (home, identity, state) = Home::open(&g.home, &password()?)?;
    print_whoami(&home, &Device::new(identity, state));
    Ok(())
}

fn deadline(secs: u64) -> Instant {
    Instant::now() + Duration::from_secs(secs)
}

/// Events every command reports the same way, on stderr.
fn report(e: &Event) {
    match e {
        Event::Pairing(PairingPhase::Warning { message }) => eprintln!("tandem: {message}"),
        Event::Rejected { from, error } => {
            eprintln!("tandem: rejected a message from {from}: {error}")
        }
        Event::Deferred { from, reason } => {
            eprintln!("tandem: kept a message from {from} for later: {reason}")
        }
        Event::ChainConflict { detail } => eprintln!("tandem: warning: {detail}"),
        Event::Failed { what, error } => eprintln!("tandem: {what}: {error}"),
        Event::RemovedFromGroup { record } => eprintln!(
            "tandem: this device was removed from its wallet by {} ({:?})",
            record.issuer_device(),
            record.reason()
        ),
        Event::TokenExpiring { expires_at } => eprintln!(
            "tandem: this device's pairing expires at {expires_at} (Unix time); \
             it asked the other devices to renew it"
        ),
        Event::TokenExpired { expires_at } => eprintln!(
            "tandem: this device's pairing expired at {expires_at} (Unix time); \
             it must be paired again"
        ),
        _ => {}
    }
}

/// Connects and waits until the device caught up with the relay.
async fn online(sh: &mut Shell, until: Instant) -> Result<()> {
    online_with(sh, until, report).await
}

/// [`online`], passing other events (e.g. from the mailbox) to `other`.
async fn online_with(sh: &mut Shell, until: Instant, other: impl FnMut(&Event)) -> Result<()> {
    sh.command(Command::Connect).await?;
    sh.wait_for(
        until,
        "the relay",
        |e| match e {
            Event::Online => Some(Ok(())),
            Event::Offline { reason } => Some(Err(Error::State(format!("relay: {reason}")))),
            Event::RemovedFromGroup { record } => Some(Err(Error::State(format!(
                "this device was removed from its wallet group by {} ({:?}); pair it again",
                record.issuer_device(),
                record.reason()
            )))),
            Event::Failed { what, error }
                if what == "connecting" || what == "talking to the relay" =>
            {
                Some(Err(Error::State(format!("{what}: {error}"))))
            }
            _ => None,
        },
        other,
    )
    .await
}

fn pairing_failed(e: &Event) -> Option<Result<()>> {
    match e {
        Event::Pairing(PairingPhase::Failed { error }) => Some(Err(Error::State(error.clone()))),
        Event::Failed { what, error } if what == "pairing" => {
            Some(Err(Error::State(error.clone())))
        }
        _ => None,
    }
}

fn print_qr(uri: &str, light: bool) {
    if let Ok(code) = qrcode::QrCode::new(uri.as_bytes()) {
        use qrcode::render::unicode::Dense1x2;
        // Most terminals draw light text on a dark background: print the
        // QR's light modules as blocks (like `qrencode -t UTF8`), unless
        // --qr-light-terminal says the background is light.
        let (dark, lightc) = if light {
            (Dense1x2::Dark, Dense1x2::Light)
        } else {
            (Dense1x2::Light, Dense1x2::Dark)
        };
        let img = code
            .render::<Dense1x2>()
            .dark_color(dark)
            .light_color(lightc)
            .quiet_zone(true)
            .build();
        out(img);
    }
}

fn yes(line: &str) -> bool {
    matches!(line.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

async fn pair_show(
    g: &Global,
    lifetime: u64,
    timeout: Option<u64>,
    qr: bool,
    qr_light_terminal: bool,
) -> Result<()> {
    let mut sh = open(g)?;
    let until = deadline(timeout.unwrap_or(lifetime + 120));
    sh.read_stdin();
    sh.command(Command::ShowOffer {
        lifetime_secs: lifetime,
    })
    .await?;
    let mut asked = false;
    loop {
        match sh.next(until, "the other device").await? {
            Happening::Event(Event::Pairing(PairingPhase::Offer { link, .. })) => {
                if qr {
                    print_qr(&link, qr_light_terminal);
                }
                out(format!("link: {link}"));
                out(format!(
                    "Scan the QR code (or paste the link) on a device already in your wallet; valid {lifetime} s, once."
                ));
            }
            Happening::Event(Event::Pairing(PairingPhase::ConfirmCode { code })) => {
                out(format!("code: {code}"));
                out("Does your other device show exactly these 6 digits? Type y if it does, n if not:");
                asked = true;
            }
            Happening::Line(l) if asked => {
                asked = false;
                sh.command(Command::ConfirmCode(yes(&l))).await?;
            }
            Happening::Event(Event::Pairing(PairingPhase::WaitingForOtherDevice)) => {
                out("Waiting for your other device to approve…");
            }
            Happening::Event(Event::Pairing(PairingPhase::Paired { name, device })) => {
                let group = sh.device().state().group.id();
                out(format!("paired: group {group} with {name} ({device})"));
                sh.record_audit(Happened::Paired {
                    device: device.clone(),
                    name: name.clone(),
                })?;
                // Its chain goes to the new device with the next sync.
                sh.with_sync(tandem_sync::Syncer::member_joined)?;
                // Prove the relay accepts this device's new token.
                online(&mut sh, until).await?;
                sh.close().await;
                return Ok(());
            }
            Happening::Event(e) => {
                if let Some(r) = pairing_failed(&e) {
                    sh.close().await;
                    return r;
                }
                report(&e);
            }
            Happening::Line(_) => {}
        }
    }
}

async fn pair_accept(
    g: &Global,
    link: &str,
    compare: bool,
    code: Option<&str>,
    allow_other_relay: bool,
    timeout: u64,
) -> Result<()> {
    let mut sh = open(g)?;
    let until = deadline(timeout);
    let typed = code.map(ComparisonCode::parse).transpose()?;
    let mode = if compare {
        ApproverMode::Compare
    } else {
        ApproverMode::Typing
    };
    if typed.is_none() {
        sh.read_stdin();
    }
    sh.command(Command::AcceptOffer {
        link: link.to_owned(),
        mode,
        allow_other_relay,
    })
    .await?;
    #[derive(PartialEq)]
    enum Asked {
        No,
        Typed,
        Compare,
    }
    let mut asked = Asked::No;
    let mut approved = false;
    loop {
        let h = match sh.next(until, "the new device").await {
            Ok(h) => h,
            Err(e) if approved => {
                // The new device is in; only the announcement to the other
                // devices is still queued (it is sent on the next connection).
                eprintln!("tandem: {e}");
                sh.close().await;
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        match h {
            Happening::Event(Event::Pairing(PairingPhase::OtherRelay {
                offer_relay,
                group_relay,
            })) => {
                sh.close().await;
                return Err(Error::State(format!(
                    "this pairing link uses the relay {offer_relay}, but your wallet uses {group_relay}. \
                     If you did not set that relay up yourself, someone may be trying to add their device: \
                     do not go on. To use it anyway, run again with --allow-other-relay."
                )));
            }
            Happening::Event(Event::Pairing(PairingPhase::TypeCode { name })) => match typed {
                Some(code) => {
                    sh.command(Command::CheckCode(CodeCheck::Typed(code)))
                        .await?
                }
                None => {
                    out(format!("new device: {name}"));
                    out("Type the 6-digit code shown on the new device:");
                    asked = Asked::Typed;
                }
            },
            Happening::Event(Event::Pairing(PairingPhase::CompareCode { code, name })) => {
                out(format!("new device: {name}"));
                out(format!("code: {code}"));
                match typed {
                    Some(t) => {
                        let check = if t.matches(&ComparisonCode::parse(&code)?) {
                            CodeCheck::Match
                        } else {
                            CodeCheck::Differ
                        };
                        sh.command(Command::CheckCode(check)).await?;
                    }
                    None => {
                        out("Does the new device show exactly these 6 digits? Type y if it does, n if not:");
                        asked = Asked::Compare;
                    }
                }
            }
            Happening::Line(l) if asked == Asked::Typed => {
                asked = Asked::No;
                let check = match ComparisonCode::parse(&l) {
                    Ok(c) => CodeCheck::Typed(c),
                    Err(_) => CodeCheck::Differ,
                };
                sh.command(Command::CheckCode(check)).await?;
            }
            Happening::Line(l) if asked == Asked::Compare => {
                asked = Asked::No;
                let check = if yes(&l) {
                    CodeCheck::Match
                } else {
                    CodeCheck::Differ
                };
                sh.command(Command::CheckCode(check)).await?;
            }
            Happening::Event(Event::Pairing(PairingPhase::WaitingForOtherDevice)) => {
                out("Waiting for the new device's user to confirm the code there…");
            }
            Happening::Event(Event::Pairing(PairingPhase::Paired { name, device })) => {
                out(format!("approved: {device} ({name})"));
                sh.record_audit(Happened::Paired {
                    device: device.clone(),
                    name: name.clone(),
                })?;
                // Its chain goes to the new device with the next sync.
                sh.with_sync(tandem_sync::Syncer::member_joined)?;
                approved = true;
                if sh.device().state().outbox().is_empty() {
                    sh.close().await;
                    return Ok(());
                }
            }
            Happening::Event(Event::Sent { what, .. }) if approved => {
                if sh.device().state().outbox().is_empty() {
                    let _ = what;
                    sh.close().await;
                    return Ok(());
                }
            }
            Happening::Event(e) => {
                if let Some(r) = pairing_failed(&e) {
                    sh.close().await;
                    return r;
                }
                report(&e);
            }
            Happening::Line(_) => {}
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

async fn devices(g: &Global, offline: bool) -> Result<()> {
    let mut sh = open(g)?;
    if !offline {
        let until = Instant::now() + Duration::from_secs(20);
        online(&mut sh, until).await?;
        sh.command(Command::ListDevices).await?;
        sh.wait_for(
            until,
            "the device list",
            |e| matches!(e, Event::Devices).then_some(Ok(())),
            report,
        )
        .await?;
        sh.close().await;
    }
    let now = now();
    for d in sh.device().devices() {
        let status = if d.this_device {
            "this device"
        } else if d.removed.is_some() {
            "revoked"
        } else {
            "active"
        };
        let last = if d.this_device && !offline {
            Some(now)
        } else {
            d.last_seen
        };
        let mut line = format!(
            "{}  {:<16}  {:<11}  {}last seen {}",
            d.id,
            d.name,
            status,
            if d.founder { "founder  " } else { "" },
            fmt_time(last, now)
        );
        if let Some(r) = &d.removed {
            line.push_str(&format!(
                "  (removed by {} , {})",
                r.by_name.as_deref().unwrap_or(&r.by),
                r.reason
            ));
        }
        out(line);
    }
    Ok(())
}

async fn revoke(g: &Global, id: Option<&str>, reason: Option<&str>, erase: bool) -> Result<()> {
    let mut sh = open(g)?;
    let target = match id {
        Some(id) => DeviceId::from_hex(id)?,
        None => sh.device().id(),
    };
    if sh.device().state().group.member(&target).is_none() {
        return Err(tandem_pair::Error::NotMember(target.to_hex()).into());
    }
    let default = if id.is_none() {
        "retired"
    } else {
        "unspecified"
    };
    let reason: RevocationReason = reason.unwrap_or(default).parse()?;
    let until = Instant::now() + Duration::from_secs(30);
    sh.command(Command::Revoke {
        erase,
        device: target,
        reason,
    })
    .await?;
    let keys = sh
        .wait_for(
            until,
            "the relay to accept the revocation",
            |e| match e {
                Event::RevokeDone { key_updates, .. } => Some(Ok(*key_updates)),
                Event::Failed { what, error } if what == "revoking" => {
                    Some(Err(Error::State(error.clone())))
                }
                _ => None,
            },
            report,
        )
        .await?;
    // Wait until the new key reached the relay for every device.
    while !sh.device().state().outbox().is_empty() {
        if let Happening::Event(e) = sh.next(until, "the relay to store the new key").await? {
            report(&e);
        }
    }
    sh.record_audit(Happened::Revoked {
        device: target.to_hex(),
        reason: reason.as_str().to_owned(),
    })?;
    sh.close().await;
    out(format!("revoked: {target}"));
    if id.is_some() {
        out(format!(
            "group key rotated to epoch {} and sent to {keys} device(s)",
            sh.device().state().group.epoch()
        ));
    }
    Ok(())
}

async fn send(g: &Global, text: &str) -> Result<()> {
    let mut sh = open(g)?;
    let until = Instant::now() + Duration::from_secs(30);
    online(&mut sh, until).await?;
    sh.command(Command::Send(text.as_bytes().to_vec())).await?;
    let full = sh
        .wait_for(
            until,
            "the relay to store the message",
            |e| match e {
                Event::Sent { what, full } if what == "message" => Some(Ok(full.clone())),
                Event::Failed { what, error } if what == "sending" => {
                    Some(Err(Error::State(error.clone())))
                }
                _ => None,
            },
            report,
        )
        .await?;
    sh.close().await;
    out("sent");
    for d in full {
        eprintln!("tandem: {d}'s mailbox is full; it did not get this message");
    }
    Ok(())
}

fn print_event(e: &Event) {
    match e {
        // Messages are printed from the inbox, where they are stored.
        Event::Message { .. } => {}
        Event::Request { from, data, .. } => {
            out(format!("request from {from}: {} bytes", data.len()))
        }
        Event::DeviceAdded { device, name, by } => {
            out(format!("device added: {device} ({name}) by {by}"))
        }
        Event::TokenRefreshed { device, expires_at } => {
            out(format!("token refreshed: {device} until {expires_at}"))
        }
        Event::DeviceRevoked { record } => out(format!(
            "revoked: {} by {} ({:?})",
            match record.target() {
                tandem_pair::RevocationTarget::Device(d) => d.to_hex(),
                tandem_pair::RevocationTarget::Token(t) => format!("token {t}"),
            },
            record.issuer_device(),
            record.reason()
        )),
        Event::KeyRotated { epoch } => out(format!("group key rotated to epoch {epoch}")),
        Event::Rejected { from, error } => out(format!("rejected message from {from}: {error}")),
        other => report(other),
    }
}

async fn recv(g: &Global, idle: u64) -> Result<()> {
    let mut sh = open(g)?;
    let idle = Duration::from_secs(idle);
    online_with(
        &mut sh,
        Instant::now() + Duration::from_secs(30),
        print_event,
    )
    .await?;
    loop {
        match sh.next(Instant::now() + idle, "messages").await {
            Ok(Happening::Event(e @ Event::RemovedFromGroup { .. })) => {
                print_event(&e);
                break;
            }
            Ok(Happening::Event(e)) => print_event(&e),
            Ok(Happening::Line(_)) => {}
            Err(Error::Timeout(_)) => break,
            Err(e) => return Err(e),
        }
    }
    // Everything received, including what an earlier run stored but did not
    // get to show, is in the inbox (stored before it was acknowledged).
    let inbox = sh.device().state().inbox().to_vec();
    for m in &inbox {
        // Sync's own messages are applied (stored when the inbox is
        // cleared), not printed.
        let now = sync::now_ms();
        match sh.with_sync(|s| s.message(&m.data.0, now))? {
            Some(Ok(_)) => {}
            Some(Err(e)) => eprintln!("tandem: a sync message from {} was refused: {e}", m.from),
            None => out(format!(
                "message from {}: {}",
                m.from,
                String::from_utf8_lossy(&m.data.0)
            )),
        }
    }
    if let Some(last) = inbox.last() {
        sh.command(Command::ClearInbox { upto: last.id }).await?;
    }
    sh.close().await;
    out("done");
    Ok(())
}

async fn refresh(g: &Global, id: &str, days: u64) -> Result<()> {
    let mut sh = open(g)?;
    let target = DeviceId::from_hex(id)?;

    let until = Instant::now() + Duration::from_secs(30);
    online(&mut sh, until).await?;
    sh.command(Command::Refresh {
        device: target,
        lifetime_secs: days.saturating_mul(86_400),
    })
    .await?;
    let expires = sh
        .wait_for(
            until,
            "the relay to register the token",
            |e| match e {
                Event::TokenRefreshed { device, expires_at } if *device == target => {
                    Some(Ok(*expires_at))
                }
                Event::Failed { what, error } if what == "refreshing" => {
                    Some(Err(Error::State(error.clone())))
                }
                _ => None,
            },
            report,
        )
        .await?;
    while !sh.device().state().outbox().is_empty() {
        if let Happening::Event(e) = sh
            .next(until, "the relay to store the announcement")
            .await?
        {
            report(&e);
        }
    }
    sh.close().await;
    out(format!("refreshed: {target} until {expires}"));
    Ok(())
}
