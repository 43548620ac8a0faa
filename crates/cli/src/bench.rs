//! `tandem bench-pairing`: the pairing handshake through a running relay,
//! from creating the offer to both devices showing their code.

use std::time::{Duration, Instant};

use rand_core::OsRng;
use tandem_pair::{
    Approver, Group, IdentityKey, Joiner, Membership, PairingOffer, Recipient, Topic,
};
use tandem_relay::client::{Client, Incoming};

use crate::state::now;
use crate::{out, Args, Error, Result};

async fn wait_topic(c: &mut Client, topic: Topic) -> Result<Vec<u8>> {
    loop {
        let inc = c.recv_timeout(Duration::from_secs(10)).await?;
        c.ack(inc.id()).await?;
        if let Incoming::Message(m) = inc {
            if m.to == Recipient::Topic(topic) {
                return Ok(m.payload);
            }
        }
    }
}

/// One pairing over two already-connected clients; returns the time until
/// both codes exist and checks they match.
async fn one(
    relay: &str,
    desk: &IdentityKey,
    dc: &mut Client,
    phone: &IdentityKey,
    pc: &mut Client,
) -> Result<Duration> {
    let t0 = Instant::now();
    let trace = std::env::var_os("TANDEM_BENCH_TRACE").is_some();
    let mark = |what: &str| {
        if trace {
            eprintln!("{:>8.2} ms  {what}", t0.elapsed().as_secs_f64() * 1000.0);
        }
    };
    let mut joiner = Joiner::new(relay, now(), 120, &mut OsRng)?;
    let topic = joiner.offer().topic;
    dc.subscribe(topic).await?;
    mark("desk subscribed");
    let uri = joiner.offer().to_uri();
    let desk_side = async {
        let hello = wait_topic(dc, topic).await?;
        mark("desk got hello");
        let (join, code) = joiner.on_hello(&hello, desk, "bench-desk", now())?;
        mark("desk code shown");
        dc.publish(Recipient::Topic(topic), &join).await?;
        mark("desk join published");
        Ok::<_, Error>((code, Instant::now()))
    };
    let phone_side = async {
        let offer = PairingOffer::parse(&uri)?;
        let (mut approver, hello) = Approver::start(&offer, phone, now(), &mut OsRng)?;
        pc.subscribe(topic).await?;
        mark("phone subscribed");
        pc.publish(Recipient::Topic(topic), &hello).await?;
        mark("phone hello published");
        let join = wait_topic(pc, topic).await?;
        mark("phone got join");
        let req = approver.on_join(&join, now())?;
        mark("phone code shown");
        Ok::<_, Error>((req.code, Instant::now()))
    };
    let (d, p) = tokio::join!(desk_side, phone_side);
    let ((dcode, dt), (pcode, pt)) = (d?, p?);
    if dcode != pcode {
        return Err(Error::State("benchmark: codes differ".into()));
    }
    let _ = dc.unsubscribe(topic).await;
    let _ = pc.unsubscribe(topic).await;
    Ok(dt.max(pt) - t0)
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

pub(crate) async fn run(args: &Args) -> Result<()> {
    args.check_known(&["--relay", "--runs", "--markdown"])?;
    let relay = args
        .opt("--relay")
        .ok_or_else(|| Error::Usage("bench-pairing needs --relay URL".into()))?
        .to_owned();
    let runs = args.num("--runs", 50)?.max(1) as usize;
    let phone = IdentityKey::generate(&mut OsRng);
    let group = Group::found(&phone, "bench-phone", now(), &mut OsRng)?;
    let mut warm = Vec::with_capacity(runs);
    let mut cold = Vec::with_capacity(runs);
    {
        let desk = IdentityKey::generate(&mut OsRng);
        let mut pc = Client::connect(&relay, &phone, group.membership()?).await?;
        let mut dc = Client::connect(&relay, &desk, Membership::Guest).await?;
        for _ in 0..runs {
            warm.push(one(&relay, &desk, &mut dc, &phone, &mut pc).await?);
        }
        let _ = pc.close().await;
        let _ = dc.close().await;
    }
    for _ in 0..runs {
        // Cold: both devices connect and authenticate first (a fresh desk each time).
        let t0 = Instant::now();
        let desk = IdentityKey::generate(&mut OsRng);
        let (pc, dc) = tokio::join!(
            Client::connect(&relay, &phone, group.membership()?),
            Client::connect(&relay, &desk, Membership::Guest)
        );
        let (mut pc, mut dc) = (pc?, dc?);
        let connect = t0.elapsed();
        let d = one(&relay, &desk, &mut dc, &phone, &mut pc).await?;
        cold.push(connect + d);
        let _ = pc.close().await;
        let _ = dc.close().await;
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
        line("devices already connected to the relay", &warm),
        line("including both devices' connect + challenge auth", &cold),
    ]
    .join("\n");
    out(&table);
    if let Some(path) = args.opt("--markdown") {
        let section = format!(
            "## Pairing handshake (crates/cli `tandem bench-pairing`)\n\n\
             Two in-process devices over real WebSockets to a `tandem-relay` on 127.0.0.1\n\
             (SQLite WAL); the time from creating the offer (X25519 key, topic, commitment)\n\
             through subscribe, hello, join, and both 6-digit codes computed. Target: p50 <= 300 ms.\n\
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
