//! `tandem-evil-relay`: a malicious relay in front of `tandem-relay`, for
//! attacker tests. See the crate README for the control protocol.

use std::io::BufRead;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use tandem_evil_relay::{say, Engine, Error, Mode, Proxy, Result};

const USAGE: &str = "\
tandem-evil-relay: a malicious relay for attacker tests (never ships)

USAGE: tandem-evil-relay [--listen ADDR] [--upstream URL] [--mode M]...

  --listen ADDR    address to listen on (default 127.0.0.1:0, any free port)
  --upstream URL   the real relay, ws://HOST:PORT/v1/ws (or the `upstream` line)
  --mode M         a mode, as on a `mode` line (repeatable)
  -h, --help       this help

Prints `evil-relay listening on ws://ADDR/v1/ws`, then reads control lines on
stdin (`upstream URL`, `mode M`, `clear`), answering each with `ok` or
`error: ...`. Exits when stdin closes.
";

struct Args {
    listen: SocketAddr,
    upstream: Option<String>,
    modes: Vec<Mode>,
}

fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Option<Args>> {
    let mut a = Args {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        upstream: None,
        modes: Vec::new(),
    };
    let mut it = args.into_iter();
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .ok_or_else(|| Error::Usage(format!("{flag} needs a value")))
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(None),
            "--listen" => {
                let v = value()?;
                a.listen = v.parse().map_err(|_| {
                    Error::Usage(format!(
                        "--listen: `{v}` is not an address like 127.0.0.1:0"
                    ))
                })?;
            }
            "--upstream" => a.upstream = Some(value()?),
            "--mode" => a.modes.push(Mode::parse(&value()?)?),
            other => {
                return Err(Error::Usage(format!(
                    "unknown option `{other}`; run tandem-evil-relay --help"
                )))
            }
        }
    }
    Ok(Some(a))
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(Some(a)) => a,
        Ok(None) => {
            eprint!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("tandem-evil-relay: {e}");
            return ExitCode::from(2);
        }
    };
    let listener = match tokio::net::TcpListener::bind(args.listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("tandem-evil-relay: cannot listen on {}: {e}", args.listen);
            return ExitCode::FAILURE;
        }
    };
    let addr = match listener.local_addr() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("tandem-evil-relay: {e}");
            return ExitCode::FAILURE;
        }
    };
    let proxy = Arc::new(Proxy::new(Engine::new(say)));
    for m in args.modes {
        proxy.engine().add_mode(m);
    }
    if let Some(u) = args.upstream {
        let answer = proxy.control(&format!("upstream {u}"));
        if answer != "ok" {
            eprintln!("tandem-evil-relay: --upstream: {answer}");
            return ExitCode::from(2);
        }
    }
    say(&format!("evil-relay listening on ws://{addr}/v1/ws"));

    // Control lines: a plain thread, so a blocked read never holds up the
    // runtime. The proxy lives as long as whoever started it keeps stdin open.
    let control = Arc::clone(&proxy);
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            say(&control.control(&line));
        }
        std::process::exit(0);
    });
    proxy.serve(listener).await;
    ExitCode::SUCCESS
}
