//! `tandem bench-pairing`: the pairing handshake through a running relay,
//! from creating the offer to both devices showing their code, with two
//! in-process device engines (the same engine as every shell).

use std::time::{Duration, Instant};

use rand_core::OsRng;
use tandem_device::{ApproverMode, Command, Device, Event, PairingPhase, State};
use tandem_pair::IdentityKey;

use crate::shell::{Happening, Shell};
use crate::state::now;
use crate::{out, Error, Global, Result};

/// `tandem bench-pairing` options.
#[derive(Debug, clap::Args)]
pub(crate) struct BenchArgs {
    /// The relay to pair through
    #[arg(long, value_name = "URL")]
    relay: String,
    /// Pairings per scenario
    #[arg(long, value_name = "N", default_value_t = 50)]
    runs: usize,
    /// Also write the results as a docs/benchmarks.md section to FILE
    #[arg(long, value_name = "FILE")]
    markdown: Option<String>,
}

async fn until_phase(
    sh: &mut Shell,
    pick: impl Fn(&PairingPhase) -> Option<String>,
) -> Result<String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match sh.next(deadline, "the other device").await? {
            Happening::Event(Event::Pairing(p)) => {
                if let Some(v) = pick(&p) {
                    return Ok(v);
                }
                if let PairingPhase::Failed { error } = p {
                    return Err(Error::State(format!("benchmark pairing failed: {error}")));
                }
            }
            Happening::Event(Event::Failed { what, error }) => {
                return Err(Error::State(format!("{what}: {error}")))
            }
            _ => {}
        }
    }
}

fn shell(name: &str, relay: &str, trust: &tandem_connect::Trust) -> Result<Shell> {
    let identity = IdentityKey::generate(&mut OsRng);
    let state = State::found(&identity, name, relay, now(), &mut OsRng)?;
    Ok(Shell::new(
        Device::new(identity, state),
        None,
        trust.clone(),
    ))
}

/// One pairing: returns the time from "show the offer" until both devices
/// show their code, and checks the codes match.
async fn one(desk: &mut Shell, phone: &mut Shell) -> Result<Duration> {
    let t0 = Instant::now();
    desk.command(Command::ShowOffer { lifetime_secs: 120 })
        .await?;
    let link = until_phase(desk, |p| match p {
        PairingPhase::Offer { link, .. } => Some(link.clone()),
        _ => None,
    })
    .await?;
    phone
        .command(Command::AcceptOffer {
            link,
            mode: ApproverMode::Compare,
            allow_other_relay: false,
        })
        .await?;
    let desk_side = async {
        let c = until_phase(desk, |p| match p {
            PairingPhase::ConfirmCode { code } => Some(code.clone()),
            _ => None,
        })
        .await?;
        Ok::<_, Error>((c, Instant::now()))
    };
    let phone_side = async {
        let c = until_phase(phone, |p| match p {
            PairingPhase::CompareCode { code, .. } => Some(code.clone()),
            _ => None,
        })
        .await?;
        Ok::<_, Error>((c, Instant::now()))
    };
    let (d, p) = tokio::join!(desk_side, phone_side);
    let ((dcode, dt), (pcode, pt)) = (d?, p?);
    if dcode != pcode {
        return Err(Error::State("benchmark: codes differ".into()));
    }
    let elapsed = dt.max(pt) - t0;
    desk.command(Command::CancelPairing).await?;
    phone.command(Command::CancelPairing).await?;
    Ok(elapsed)
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

pub(crate) async fn run(g: &Global, args: &BenchArgs) -> Result<()> {
    let relay = args.relay.clone();
    let runs = args.runs.max(1);
    let trust = crate::trust(g)?;
    let mut warm = Vec::with_capacity(runs);
    let mut cold = Vec::with_capacity(runs);
    {
        // Warm: the phone is already online with its group.
        let mut phone = shell("bench-phone", &relay, &trust)?;
        phone.command(Command::Connect).await?;
        let deadline = Instant::now() + Duration::from_secs(10);
        phone
            .wait_for(
                deadline,
                "the relay",
                |e| matches!(e, Event::Online).then_some(Ok(())),
                |_| {},
            )
            .await?;
        for _ in 0..runs {
            let mut desk = shell("bench-desk", &relay, &trust)?;
            warm.push(one(&mut desk, &mut phone).await?);
            desk.close().await;
        }
        phone.close().await;
    }
    for _ in 0..runs {
        // Cold: the phone connects and authenticates to its group as part of it.
        let mut phone = shell("bench-phone", &relay, &trust)?;
        let mut desk = shell("bench-desk", &relay, &trust)?;
        cold.push(one(&mut desk, &mut phone).await?);
        desk.close().await;
        phone.close().await;
    }
    warm.sort();
    cold.sort();
    let line = |name: &str, v: &[Duration]| {
        format!(
            "| {name} | {runs} | {:.2} | {:.2} | {:.2} |",
            pct(v, 0.5),
            pct(v, 0.9),
            pct(v, 1.0)
        )
    };
    let table = [
        "| pairing handshake, offer -> both codes shown | runs | p50 ms | p90 ms | max ms |"
            .to_owned(),
        "|---|---|---|---|---|".to_owned(),
        line("trusted device already online with its group", &warm),
        line("trusted device also connecting to its group", &cold),
    ]
    .join("\n");
    out(&table);
    if let Some(path) = &args.markdown {
        let section = format!(
            "## Pairing handshake (crates/cli `tandem bench-pairing`)\n\n\
             Two in-process device engines (`tandem-device`, as in every shell) over real\n\
             WebSockets to a `tandem-relay` on 127.0.0.1 (SQLite WAL); the time from \"show\n\
             the offer\" (X25519 key, topic, commitment, a guest connection with its own\n\
             challenge auth, subscription) through the trusted device's answer (its own guest\n\
             connection), hello, join, and both 6-digit codes shown. Target: p50 <= 300 ms.\n\
             Machine: {} cores, shared with other work; release build; relay started with\n\
             `--rate 100000 --burst 100000` so the per-device rate limit does not throttle the loop.\n\
             Command: `scripts/bench-pairing` (or `tandem bench-pairing --relay URL --runs N --markdown docs/benchmarks.md`).\n\
             Recorded {} UTC.\n\n{table}\n",
            std::thread::available_parallelism().map_or(0, |n| n.get()),
            utc_date(now())
        );
        write_section(path, "pairing", &section)?;
        out(format!("wrote {path}"));
    }
    Ok(())
}

/// Replaces the text between `<!-- BEGIN area -->` and `<!-- END area -->`,
/// appending the markers if absent.
fn write_section(path: &str, area: &str, body: &str) -> Result<()> {
    let begin = format!("<!-- BEGIN {area} -->");
    let end = format!("<!-- END {area} -->");
    let old = match std::fs::read_to_string(path) {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => "# Benchmarks\n".to_owned(),
        Err(e) => return Err(Error::io(format!("reading {path}"), e)),
    };
    let new = match (old.find(&begin), old.find(&end)) {
        (Some(b), Some(e)) if b < e => {
            format!("{}{begin}\n{body}{}", &old[..b], &old[e..])
        }
        _ => format!(
            "{}\n{begin}\n{body}{end}\n",
            old.trim_end_matches('\n').to_owned() + "\n"
        ),
    };
    std::fs::write(path, new).map_err(|e| Error::io(format!("writing {path}"), e))
}

/// `YYYY-MM-DD HH:MM` from Unix seconds (civil-from-days, H. Hinnant).
fn utc_date(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}",
        rem / 3600,
        (rem % 3600) / 60
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn utc_date_known_values() {
        assert_eq!(super::utc_date(0), "1970-01-01 00:00");
        // 2000-03-01 is the day after a leap day in a century leap year.
        assert_eq!(super::utc_date(951_868_800), "2000-03-01 00:00");
        assert_eq!(super::utc_date(1_700_000_000), "2023-11-14 22:13");
    }
}
