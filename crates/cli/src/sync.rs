//! `tandem sync`: the synced wallet metadata, through the device engine
//! (group messages and the group's sealed blobs) and `tandem_sync`'s loop.
//! A thin shell: every decision is `tandem_sync::Syncer`'s.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use clap::Subcommand;
use serde_json::json;
use tandem_device::{Command, Event};
use tandem_sync::audit::{export_csv, export_json, Happened, Verdict};
use tandem_sync::{Category, Field, Notice, Out, Value};

use crate::shell::{Happening, Shell};
use crate::{online, open, out, report, Error, Global, Result};

#[derive(Debug, Subcommand)]
pub(crate) enum SyncCmd {
    /// What syncs, what waits, and every synced record (`--json` for tools)
    Show {
        /// From this device's state only, without asking the relay
        #[arg(long)]
        offline: bool,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Turn sync on for a category (accounts, tokens, balances, activity,
    /// address_book, networks, sites) on every device of the wallet
    On {
        /// The category
        category: String,
    },
    /// Turn sync off for a category on every device; its copy on the relay
    /// is deleted
    Off {
        /// The category
        category: String,
    },
    /// Add or change a record, e.g. `address_book 0xab… '{"contact":{"name":"Alice","note":""}}'`
    Set {
        /// The category
        category: String,
        /// The record id (see the category)
        id: String,
        /// The value, as JSON
        value: String,
    },
    /// Add or change several records as one change set, sent together
    /// (e.g. an address book to import): FILE (`-`: standard input) holds a
    /// JSON array of `{"category", "id", "value"}`. Nothing is saved unless
    /// every one of them is valid.
    SetMany {
        /// The JSON file, or `-`
        file: String,
    },
    /// Remove a record
    Remove {
        /// The category
        category: String,
        /// The record id
        id: String,
    },
}

fn category(name: &str) -> Result<Category> {
    serde_json::from_value(json!(name)).map_err(|_| {
        Error::State(format!(
            "{name:?} is not a sync category; one of: accounts, tokens, balances, activity, address_book, networks, sites"
        ))
    })
}

pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

pub(crate) async fn run(g: &Global, cmd: SyncCmd) -> Result<()> {
    let (field, value) = match cmd {
        SyncCmd::Show { offline, json } => return show(g, offline, json).await,
        SyncCmd::On { category: c } => (
            Field::Enabled {
                category: category(&c)?,
            },
            Some(Value::Enabled(true)),
        ),
        SyncCmd::Off { category: c } => (
            Field::Enabled {
                category: category(&c)?,
            },
            Some(Value::Enabled(false)),
        ),
        SyncCmd::Set {
            category: c,
            id,
            value,
        } => {
            let v: Value = serde_json::from_str(&value)
                .map_err(|e| Error::State(format!("the value is not a record's JSON: {e}")))?;
            (Field::record(category(&c)?, id), Some(v))
        }
        SyncCmd::Remove { category: c, id } => (Field::record(category(&c)?, id), None),
        SyncCmd::SetMany { file } => return set_many(g, &file).await,
    };
    let mut sh = open(g)?;
    let switch = match (&field, &value) {
        (Field::Enabled { category }, Some(Value::Enabled(on))) => Some((*category, *on)),
        _ => None,
    };
    sh.with_sync(|s| s.edit(field, value, now_ms()))?
        .map_err(|e| Error::State(e.to_string()))?;
    if let Some((category, on)) = switch {
        sh.record_audit(Happened::SyncCategory { category, on })?;
    }
    sh.persist()?;
    out("saved on this device");
    exchange(&mut sh).await?;
    print_status(&mut sh)?;
    sh.close().await;
    Ok(())
}

/// `sync set-many`: every record checked first (a bad one saves none and
/// is named by its place in the list), then all edited at one time and
/// sent in one exchange.
async fn set_many(g: &Global, file: &str) -> Result<()> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Item {
        category: String,
        id: String,
        value: serde_json::Value,
    }
    let text = if file == "-" {
        std::io::read_to_string(std::io::stdin())
    } else {
        std::fs::read_to_string(file)
    }
    .map_err(|e| Error::State(format!("could not read {file}: {e}")))?;
    let items: Vec<Item> = serde_json::from_str(&text).map_err(|e| {
        Error::State(format!(
            "{file} is not a JSON array of {{\"category\", \"id\", \"value\"}}: {e}"
        ))
    })?;
    let mut edits = Vec::with_capacity(items.len());
    for (i, it) in items.into_iter().enumerate() {
        let field = Field::record(category(&it.category)?, it.id);
        let value: Value = serde_json::from_value(it.value)
            .map_err(|e| Error::State(format!("record {} is not a record's JSON: {e}", i + 1)))?;
        field
            .check(Some(&value))
            .map_err(|e| Error::State(format!("record {}: {e}", i + 1)))?;
        edits.push((field, value));
    }
    let n = edits.len();
    let mut sh = open(g)?;
    let now = now_ms();
    sh.with_sync(|s| {
        edits
            .into_iter()
            .try_for_each(|(f, v)| s.edit(f, Some(v), now).map(drop))
    })?
    .map_err(|e| Error::State(e.to_string()))?;
    sh.persist()?;
    out(format!("{n} records saved on this device"));
    exchange(&mut sh).await?;
    print_status(&mut sh)?;
    sh.close().await;
    Ok(())
}

async fn show(g: &Global, offline: bool, as_json: bool) -> Result<()> {
    let mut sh = open(g)?;
    if !offline {
        exchange(&mut sh).await?;
        sh.close().await;
    }
    if as_json {
        let text = sh.with_sync(|s| {
            let records: Vec<_> = Category::ALL
                .into_iter()
                .flat_map(|c| {
                    s.replica()
                        .records(c)
                        .map(move |(id, v, from)| {
                            json!({ "category": c, "id": id, "value": v, "from": from.to_hex() })
                        })
                        .collect::<Vec<_>>()
                })
                .collect();
            json!({ "status": s.status(), "records": records }).to_string()
        })?;
        out(text);
        return Ok(());
    }
    let lines = sh.with_sync(|s| {
        Category::ALL
            .into_iter()
            .flat_map(|c| {
                s.replica()
                    .records(c)
                    .map(move |(id, v, from)| {
                        format!(
                            "{}: {id} = {} (last changed on {from})",
                            c.label(),
                            serde_json::to_string(v).unwrap_or_default()
                        )
                    })
                    .collect::<Vec<_>>()
            })
            .collect::<Vec<_>>()
    })?;
    for l in lines {
        out(l);
    }
    print_status(&mut sh)
}

/// `tandem audit`: every device's entries, each checked.
pub(crate) async fn audit(g: &Global, offline: bool, json: bool, csv: bool) -> Result<()> {
    let mut sh = open(g)?;
    if !offline {
        exchange(&mut sh).await?;
        sh.close().await;
    }
    let me = sh.device().id();
    // Every device this one knows, revoked ones too: their old entries
    // stay theirs.
    let keys: Vec<_> = sh
        .device()
        .state()
        .group
        .members()
        .map(|m| (m.device(), m.identity))
        .collect();
    let text = sh.with_sync(|s| {
        let checked = s
            .audit()
            .verify(me, |d| keys.iter().find(|(id, _)| id == d).map(|(_, k)| *k));
        if json {
            return export_json(&checked);
        }
        if csv {
            return export_csv(&checked);
        }
        let mut lines: Vec<String> = checked
            .iter()
            .map(|c| {
                let what = serde_json::to_string(&c.entry.happened).unwrap_or_default();
                let flag = match &c.verdict {
                    Verdict::Ok => String::new(),
                    Verdict::Altered => "  !! ALTERED: its signature does not match".into(),
                    Verdict::UnknownDevice => "  !! from a device this wallet does not know".into(),
                    Verdict::Gap { missing } => {
                        format!("  !! {missing} entr(y/ies) before this one are missing")
                    }
                    Verdict::BrokenLink => {
                        "  !! the entry before this one was changed or replaced".into()
                    }
                    Verdict::OutOfOrder => "  !! out of order: moved".into(),
                };
                format!(
                    "{} #{} at {}: {what}{flag}",
                    c.entry.device, c.entry.seq, c.entry.at_ms
                )
            })
            .collect();
        let bad = checked.iter().filter(|c| c.verdict != Verdict::Ok).count();
        lines.push(if bad == 0 {
            format!("{} entries, all signed and in order", checked.len())
        } else {
            format!(
                "{} entries, {bad} with a problem (marked !!)",
                checked.len()
            )
        });
        lines.join("\n")
    })?;
    out(text);
    Ok(())
}

fn print_status(sh: &mut Shell) -> Result<()> {
    let st = sh.with_sync(|s| s.status())?;
    let on: Vec<&str> = st.enabled.iter().map(|c| c.label()).collect();
    out(format!(
        "syncing: {}",
        if on.is_empty() {
            "nothing (turn a category on with `tandem sync on`)".to_owned()
        } else {
            on.join(", ")
        }
    ));
    if st.to_send + st.unsaved > 0 {
        out(format!(
            "{} change(s) waiting, {} snapshot(s) not saved on the relay: they go when it is reachable",
            st.to_send, st.unsaved
        ));
    } else if let Some(t) = st.synced_at {
        out(format!("synced at {} (ms since 1970)", t));
    }
    if st.held > 0 {
        out(format!(
            "{} change(s) from a device whose clock is ahead are held until this clock catches up",
            st.held
        ));
    }
    Ok(())
}

fn notice(n: &Notice) {
    let change = serde_json::to_value(n.change)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    let what = match &n.field {
        Field::Record { category, id } => format!("{}: {id}", category.label()),
        Field::Enabled { category } => category.label().to_owned(),
    };
    out(format!("notice: {what} {change} on device {}", n.from));
}

/// The least time between two frames an exchange sends (40 frames/s).
const FRAME_GAP: Duration = Duration::from_millis(25);

/// Goes online (if the relay answers), applies the sync messages waiting,
/// hands over the changes, and reads, merges and writes the snapshots
/// until the relay stored everything. Offline, says what waits.
async fn exchange(sh: &mut Shell) -> Result<()> {
    let until = Instant::now() + Duration::from_secs(30);
    if let Err(e) = online(sh, Instant::now() + Duration::from_secs(5)).await {
        eprintln!("tandem: the relay is not reachable ({e}); the changes stay on this device");
        return Ok(());
    }
    let mut queue: VecDeque<Out> = VecDeque::new();
    apply_inbox(sh, &mut queue).await?;
    queue.extend(sh.with_sync(|s| s.flush())?);
    // Answers still due: blob reads and writes, and sends to be stored.
    let mut due = 0usize;
    // The relay allows a device 50 frames/s after a burst (`--rate`,
    // `--rate-burst`), counted across this device's runs: one exchange
    // reads every page of what syncs (16 per category), so back-to-back
    // commands would drain the burst and be refused. Sent at most every
    // FRAME_GAP, leaving room for the acks.
    let mut next_frame = tokio::time::Instant::now();
    loop {
        while let Some(o) = queue.pop_front() {
            if matches!(o, Out::Send(_) | Out::PutBlob { .. } | Out::GetBlob { .. }) {
                tokio::time::sleep_until(next_frame).await;
                next_frame = tokio::time::Instant::now() + FRAME_GAP;
            }
            match o {
                Out::Send(data) => {
                    due += 1;
                    sh.command(Command::Send(data)).await?;
                }
                Out::PutBlob {
                    name,
                    data,
                    expected,
                } => {
                    due += 1;
                    sh.command(Command::PutBlob {
                        name,
                        data,
                        expected: Some(expected),
                    })
                    .await?;
                }
                Out::GetBlob { name } => {
                    due += 1;
                    sh.command(Command::GetBlob { name }).await?;
                }
                Out::Persist => sh.persist()?,
                Out::Notice(n) => notice(&n),
            }
        }
        if due == 0 {
            break;
        }
        let e = match sh.next(until, "the relay to store the sync data").await? {
            Happening::Event(e) => e,
            Happening::Line(_) => continue,
        };
        let now = now_ms();
        let more = match e {
            Event::Blob {
                name,
                version,
                data,
            } => {
                due -= 1;
                sh.with_sync(|s| s.blob(&name, version, data.as_deref(), now))?
                    .map_err(|e| Error::State(format!("the relay's copy of {name}: {e}")))?
            }
            Event::BlobUnreadable {
                name,
                version,
                error,
            } => {
                due -= 1;
                eprintln!("tandem: the relay's copy of {name} cannot be used ({error}); replacing it with this device's");
                sh.with_sync(|s| s.blob_unreadable(&name, version))?
            }
            Event::BlobStored { name, version } => {
                due -= 1;
                sh.with_sync(|s| s.blob_stored(&name, version, now))?
            }
            Event::BlobConflict { name } => {
                due -= 1;
                sh.with_sync(|s| s.blob_conflict(&name))?
            }
            Event::Sent { what, .. } if what == "message" => {
                due -= 1;
                Vec::new()
            }
            Event::KeyRotated { .. } => sh.with_sync(|s| s.key_rotated())?,
            Event::Message { .. } => {
                let mut q = VecDeque::new();
                apply_inbox(sh, &mut q).await?;
                q.into()
            }
            Event::Failed { what, error } => {
                return Err(Error::State(format!("{what}: {error}")));
            }
            other => {
                report(&other);
                Vec::new()
            }
        };
        queue.extend(more);
    }
    Ok(())
}

/// Applies the sync messages at the front of the inbox and clears them
/// (a message that is not sync's, and what follows it, stays for `recv`).
async fn apply_inbox(sh: &mut Shell, queue: &mut VecDeque<Out>) -> Result<()> {
    let inbox = sh.device().state().inbox().to_vec();
    let mut upto = None;
    for m in &inbox {
        let now = now_ms();
        match sh.with_sync(|s| s.message(&m.data.0, now))? {
            None => break,
            Some(Ok(outs)) => queue.extend(outs),
            Some(Err(e)) => eprintln!("tandem: a sync message from {} was refused: {e}", m.from),
        }
        upto = Some(m.id);
    }
    if let Some(upto) = upto {
        // The applied changes are stored before the messages leave the inbox.
        sh.persist()?;
        sh.command(Command::ClearInbox { upto }).await?;
    }
    Ok(())
}
