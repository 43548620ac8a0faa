//! A malicious relay process (`tandem-evil-relay`) sits between real
//! command-line devices and the real relay and attacks them: it swaps pairing
//! keys, forges a welcome, replays, tampers with, reorders and withholds
//! messages. Every attack fails visibly and installs or accepts nothing.
//!
//! Needs `cargo build -p tandem-relay -p tandem-evil-relay` (scripts/test does it).

#![allow(clippy::unwrap_used, clippy::print_stdout)]

mod common;

use common::*;

/// The malicious relay knows the QR (it photographed it) and answers the new
/// device with its own keys instead of the phone's. The new device shows a
/// code; the phone never can (the join it gets was made for the attacker's
/// keys and fails authentication). The user says the codes differ: nothing
/// is installed on either side.
#[test]
fn malicious_relay_substituting_pairing_keys_gets_nowhere() {
    let mut evil = EvilRelay::start();
    let dir = TempDir::new();
    let phone = Dev::with_url(&dir, "phone", &evil.url);
    let desk = Dev::with_url(&dir, "desk", &evil.url);
    let desk_id = desk.id();
    let (mut show, link) = desk.show(&[]);
    evil.control(&format!("mode substitute-hello {link}"));
    let accept = phone.accept(&link, &["--compare", "--timeout", "15"]);
    evil.report("evil: substituted hello", 20);
    let desk_code = show.wait("code: ", 20);
    let attacker_view = evil.report("evil: joiner code ", 20);
    assert_eq!(
        attacker_view, desk_code,
        "the attacker shares a code only with the desk"
    );
    // The user compares: the phone shows no code at all.
    show.answer("n");
    let (ok, _, err) = show.finish();
    assert!(!ok && err.contains("do not match"), "{err}");
    let (ok, out, err) = accept.finish();
    assert!(!ok, "{out}\n{err}");
    assert!(
        !out.contains("code: "),
        "the phone never showed a code:\n{out}"
    );
    assert!(
        err.contains("failed its checks") || err.contains("failed authentication"),
        "{err}"
    );
    assert!(!phone.run_ok(&["devices", "--offline"]).contains(&desk_id));
    assert_eq!(desk.run_ok(&["devices", "--offline"]).lines().count(), 1);
}

/// The malicious relay answers the QR first and, without waiting for
/// anyone, pushes a welcome into a group of its own, forging the new
/// device's confirmation to itself. The new device refuses a welcome its
/// user has not confirmed.
#[test]
fn malicious_relay_cannot_capture_the_new_device_with_a_forged_welcome() {
    let mut evil = EvilRelay::start();
    let dir = TempDir::new();
    let phone = Dev::with_url(&dir, "phone", &evil.url);
    let desk = Dev::with_url(&dir, "desk", &evil.url);
    let group_before = desk.run_ok(&["whoami"]);
    let (show, link) = desk.show(&[]);
    evil.control(&format!("mode substitute-hello {link}"));
    evil.control("mode forge-welcome");
    let accept = phone.accept(&link, &["--compare", "--timeout", "15"]);
    evil.report("evil: forged welcome sent", 20);
    let (ok, _, err) = show.finish();
    assert!(
        !ok && err.contains("before the code was confirmed"),
        "{err}"
    );
    accept.kill();
    assert_eq!(
        desk.run_ok(&["whoami"]),
        group_before,
        "nothing was installed"
    );
}

/// Group traffic under attack: a replayed message is shown once, a tampered
/// one is refused as modified, two swapped messages both arrive, and a
/// revocation the relay withholds from the fan-out still reaches the device
/// through the chain its key update points to.
#[test]
fn malicious_relay_replaying_tampering_reordering_and_hiding() {
    let mut evil = EvilRelay::start();
    let dir = TempDir::new();
    let phone = Dev::with_url(&dir, "phone", &evil.url);
    let desk = Dev::with_url(&dir, "desk", &evil.url);
    let laptop = Dev::with_url(&dir, "laptop", &evil.url);
    pair(&phone, &desk);
    pair(&phone, &laptop);
    let phone_id = phone.id();

    evil.control("mode replay group");
    phone.run_ok(&["send", "once"]);
    let out = laptop.run_ok(&["recv", "--idle", "2"]);
    evil.report("evil: replayed deliver kind=group", 10);
    assert_eq!(
        out.lines()
            .filter(|l| l.starts_with("message from"))
            .count(),
        1,
        "{out}"
    );
    assert!(
        out.contains("replayed"),
        "the copy is refused as a replay:\n{out}"
    );
    assert!(
        out.contains(&format!("message from {phone_id}: once")),
        "{out}"
    );
    evil.control("clear");

    evil.control("mode tamper group");
    phone.run_ok(&["send", "tampered"]);
    let out = laptop.run_ok(&["recv", "--idle", "2"]);
    evil.report("evil: tampered deliver kind=group", 10);
    assert!(
        out.contains("rejected message") && out.contains("modified"),
        "{out}"
    );
    assert!(!out.contains(": tampered"), "{out}");
    evil.control("clear");

    evil.control("mode reorder group");
    phone.run_ok(&["send", "first"]);
    phone.run_ok(&["send", "second"]);
    let out = laptop.run_ok(&["recv", "--idle", "2"]);
    evil.report("evil: reordered deliver kind=group", 10);
    assert!(out.contains(": first") && out.contains(": second"), "{out}");
    evil.control("clear");

    evil.control("mode drop revoked");
    let desk_id = desk.id();
    phone.run_ok(&["revoke", &desk_id, "--reason", "compromised"]);
    let out = laptop.run_ok(&["recv", "--idle", "2"]);
    evil.report("evil: dropped revoked", 10);
    assert!(out.contains(&format!("revoked: {desk_id}")), "{out}");
    assert!(out.contains("group key rotated to epoch 1"), "{out}");
    evil.control("clear");
    phone.run_ok(&["send", "after"]);
    let out = laptop.run_ok(&["recv", "--idle", "2"]);
    assert!(out.contains(": after"), "{out}");
}
