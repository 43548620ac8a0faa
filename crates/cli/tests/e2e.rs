//! Devices running the real `tandem` binary pair through a real
//! `tandem-relay` process on 127.0.0.1.
//!
//! Needs the relay binary: `cargo build -p tandem-relay --bin tandem-relay`
//! (found next to this test's target dir, or set `TANDEM_RELAY_BIN`).

#![allow(clippy::unwrap_used, clippy::print_stdout)]

mod common;

use common::*;

#[test]
fn pair_message_refresh_revoke_leave() {
    let relay = Relay::start();
    let dir = TempDir::new();
    let phone = Dev::new(&dir, "phone", &relay);
    let desk = Dev::new(&dir, "desk", &relay);
    let laptop = Dev::new(&dir, "laptop", &relay);
    let (phone_id, desk_id, laptop_id) = (phone.id(), desk.id(), laptop.id());

    let code = pair(&phone, &desk);
    assert_eq!(code.len(), 6);
    pair(&phone, &laptop);

    // Everyone lists everyone, via the relay.
    let list = desk.run_ok(&["devices"]);
    for id in [&phone_id, &desk_id] {
        assert!(list.contains(id.as_str()), "{list}");
    }
    assert!(list.contains("this device"), "{list}");
    let group = |d: &Dev| {
        d.run_ok(&["whoami"])
            .lines()
            .find(|l| l.starts_with("group: "))
            .unwrap()
            .to_owned()
    };
    assert_eq!(group(&desk), group(&phone));
    assert_eq!(group(&laptop), group(&phone));

    // A group message reaches the others, end to end. (The desk learnt
    // about the laptop from the phone's announcement when it listed devices.)
    phone.run_ok(&["send", "hello from the phone"]);
    let out = desk.run_ok(&["recv", "--idle", "2"]);
    assert!(
        out.contains(&format!("message from {phone_id}: hello from the phone")),
        "{out}"
    );
    let out = laptop.run_ok(&["recv", "--idle", "2"]);
    assert!(out.contains("hello from the phone"), "{out}");
    assert!(desk.run_ok(&["devices", "--offline"]).contains(&laptop_id));
    // Nothing is shown twice: a second recv finds the mailbox empty.
    let out = laptop.run_ok(&["recv", "--idle", "1"]);
    assert!(!out.contains("hello from the phone"), "{out}");

    // Token refresh travels through the group and the laptop adopts it.
    let expiry = |d: &Dev| -> u64 {
        d.run_ok(&["whoami"])
            .lines()
            .find_map(|l| l.strip_prefix("token_expires: "))
            .unwrap()
            .parse()
            .unwrap()
    };
    let before = expiry(&laptop);
    let out = phone.run_ok(&["refresh", &laptop_id, "--days", "60"]);
    assert!(out.contains(&format!("refreshed: {laptop_id}")), "{out}");
    let out = laptop.run_ok(&["recv", "--idle", "2"]);
    assert!(
        out.contains(&format!("token refreshed: {laptop_id}")),
        "{out}"
    );
    let after = expiry(&laptop);
    assert!(after >= before + 29 * 86_400, "{before} -> {after}");
    // The relay accepts the refreshed token (recv authenticates with it).
    laptop.run_ok(&["recv", "--idle", "1"]);

    // Revoke the desk from the phone: the key rotates, the desk is shut out.
    let out = phone.run_ok(&["revoke", &desk_id, "--reason", "lost"]);
    assert!(out.contains(&format!("revoked: {desk_id}")), "{out}");
    assert!(out.contains("epoch 1 and sent to 1 device"), "{out}");
    // Revoking it again changes nothing.
    let err = phone.run_err(&["revoke", &desk_id]);
    assert!(
        err.contains("revoked") || err.contains("not an active"),
        "{err}"
    );
    let err = desk.run_err(&["send", "still here?"]);
    assert!(err.contains("revoked") || err.contains("removed"), "{err}");
    let out = laptop.run_ok(&["recv", "--idle", "2"]);
    assert!(out.contains(&format!("revoked: {desk_id}")), "{out}");
    assert!(out.contains("group key rotated to epoch 1"), "{out}");
    phone.run_ok(&["send", "after the revocation"]);
    let out = laptop.run_ok(&["recv", "--idle", "2"]);
    assert!(out.contains("after the revocation"), "{out}");
    let list = laptop.run_ok(&["devices", "--offline"]);
    let desk_line = list.lines().find(|l| l.contains(&desk_id)).unwrap();
    assert!(desk_line.contains("revoked"), "{list}");
    // The desk heard of it when the relay turned it away, and says who.
    let who = desk.run_ok(&["whoami"]);
    assert!(who.contains("removed: by phone"), "{who}");

    // The laptop leaves; the phone, the only one left, is told.
    let out = laptop.run_ok(&["leave"]);
    assert!(out.contains(&format!("revoked: {laptop_id}")), "{out}");
    let out = phone.run_ok(&["recv", "--idle", "2"]);
    assert!(out.contains(&format!("revoked: {laptop_id}")), "{out}");
}

/// Both screens must confirm: "n" on either side, or a wrongly typed code,
/// pairs nothing, and each side says why.
#[test]
fn a_mismatch_on_either_side_pairs_nothing() {
    let relay = Relay::start();
    let dir = TempDir::new();
    let phone = Dev::new(&dir, "phone", &relay);
    let desk = Dev::new(&dir, "desk", &relay);
    let desk_id = desk.id();

    // The new device's user says the codes differ.
    let (mut show, link) = desk.show(&[]);
    let mut accept = phone.accept(&link, &["--compare", "--timeout", "30"]);
    accept.wait("code: ", 30);
    show.wait("code: ", 30);
    accept.answer("y");
    show.answer("n");
    let (ok, _, err) = show.finish();
    assert!(!ok && err.contains("do not match"), "{err}");
    let (ok, _, err) = accept.finish();
    assert!(
        !ok && err.contains("reports that the 6-digit codes do not match"),
        "{err}"
    );

    // The trusted device's user says they differ.
    let (mut show, link) = desk.show(&[]);
    let mut accept = phone.accept(&link, &["--compare", "--timeout", "30"]);
    accept.wait("code: ", 30);
    show.wait("code: ", 30);
    show.answer("y");
    accept.answer("n");
    let (ok, _, err) = accept.finish();
    assert!(!ok && err.contains("do not match"), "{err}");
    let (ok, _, err) = show.finish();
    assert!(!ok && err.contains("declined"), "{err}");

    // Typing mode, wrong code typed.
    let (mut show, link) = desk.show(&[]);
    let mut accept = phone.accept(&link, &["--timeout", "30"]);
    let shown = show.wait("code: ", 30);
    accept.wait("new device: ", 30);
    assert!(
        !accept.seen.iter().any(|l| l.contains(&shown)),
        "typing mode shows no code on the trusted device"
    );
    let wrong = format!("{:06}", (shown.parse::<u32>().unwrap() + 1) % 1_000_000);
    accept.answer(&wrong);
    show.answer("y");
    let (ok, _, err) = accept.finish();
    assert!(!ok && err.contains("do not match"), "{err}");
    let (ok, _, err) = show.finish();
    assert!(!ok && err.contains("declined"), "{err}");

    assert!(!phone.run_ok(&["devices", "--offline"]).contains(&desk_id));
    assert_eq!(desk.run_ok(&["devices", "--offline"]).lines().count(), 1);
}

/// A link works once: the same phone refuses it at once, another device is
/// refused by the relay (a pairing topic takes two devices), an expired link
/// is refused, garbage is named as such, and a link that names another relay
/// than the wallet's needs the user's explicit yes.
#[test]
fn links_are_one_time_expire_and_name_their_relay() {
    let relay = Relay::start();
    let dir = TempDir::new();
    let phone = Dev::new(&dir, "phone", &relay);
    let desk = Dev::new(&dir, "desk", &relay);
    let other = Dev::new(&dir, "other", &relay);
    let (mut show, link) = desk.show(&[]);
    let mut accept = phone.accept(&link, &["--compare", "--timeout", "30"]);
    accept.wait("code: ", 30);
    show.wait("code: ", 30);
    // While that pairing runs, a second device tries the same link.
    let err = other.run_err(&[
        "pair",
        "accept",
        &link,
        "--code",
        "123456",
        "--timeout",
        "20",
    ]);
    assert!(
        err.contains("already") && err.contains("two devices"),
        "{err}"
    );
    show.answer("y");
    accept.answer("y");
    assert!(accept.finish().0 && show.finish().0);
    // The same link again on the same phone: one-time, refused at once.
    let err = phone.run_err(&["pair", "accept", &link, "--code", "123456"]);
    assert!(err.contains("already used"), "{err}");

    // A device already paired cannot show an offer.
    let err = desk.run_err(&["pair", "show", "--no-qr", "--timeout", "10"]);
    assert!(err.contains("already paired"), "{err}");

    // Expired link (the offer's clock is in the link). The clock counts
    // whole seconds: a lifetime of 1 s left anywhere from 0 to 1 s to
    // connect and subscribe before the offer expired unshown (a CI run
    // under load once failed here); 3 s leaves at least 2.
    let late = Dev::new(&dir, "late", &relay);
    let (show, link) = late.show(&["--lifetime", "3", "--timeout", "30"]);
    let exp: u64 = link.rsplit("exp=").next().unwrap().parse().unwrap();
    while std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        < exp
    {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let err = other.run_err(&["pair", "accept", &link, "--code", "123456"]);
    assert!(err.contains("expired"), "{err}");
    let (ok, _, err) = show.finish();
    assert!(!ok && err.contains("expired"), "{err}");

    // Another relay than the wallet's: refused unless the user says yes.
    let (show, link) = other.show(&["--timeout", "10"]);
    // (the app link's host changes with its relay: it must be the relay's)
    let authority = relay.authority();
    let foreign = link.replace(authority, "127.0.0.1:9");
    let err = phone.run_err(&["pair", "accept", &foreign, "--code", "123456"]);
    assert!(
        err.contains("--allow-other-relay") && err.contains("ws://127.0.0.1:9/v1/ws"),
        "{err}"
    );
    show.kill();

    for bad in [
        "",
        "tandem:pair?v=9",
        "https://evil.example/pair",
        "tandem:pair?v=2&relay=ws://x",
    ] {
        let err = phone.run_err(&["pair", "accept", bad, "--code", "123456"]);
        assert!(
            err.contains("pairing link") || err.contains("version"),
            "{bad}: {err}"
        );
    }
}

/// The app link a phone's camera app opens (`http(s)://<relay>/app/#` +
/// the pairing link) pairs like the plain link; one whose host is not the
/// relay's is refused before anything is sent.
#[test]
fn app_links_pair_and_must_name_their_relay() {
    let relay = Relay::start();
    let dir = TempDir::new();
    let phone = Dev::new(&dir, "phone", &relay);
    let desk = Dev::new(&dir, "desk", &relay);
    let (mut show, link) = desk.show(&[]);
    let authority = relay.authority();

    // `pair show` prints the app link (what the extension's QR holds too).
    let app_link = format!("http://{authority}/app/#");
    assert!(link.starts_with(&app_link), "{link}");
    let plain = link.split_once('#').map_or(link.as_str(), |(_, f)| f);
    assert!(plain.starts_with("tandem:pair?v=2&relay="), "{plain}");

    let elsewhere = format!("http://127.0.0.2:1/app/#{plain}");
    let err = phone.run_err(&["pair", "accept", &elsewhere, "--code", "123456"]);
    assert!(err.contains("not its relay's host"), "{err}");

    let mut accept = phone.accept(&link, &["--compare", "--timeout", "60"]);
    let a = accept.wait("code: ", 30);
    assert_eq!(a, show.wait("code: ", 30));
    show.answer("y");
    accept.answer("y");
    let (ok, out, err) = accept.finish();
    assert!(ok, "accept failed:\n{out}\n{err}");
    let (ok, out, err) = show.finish();
    assert!(ok, "pair show failed:\n{out}\n{err}");
    assert!(out.contains("paired: group "), "{out}");
}

#[test]
fn import_known_phrase() {
    // BIP-39/BIP-44 well-known vector: "abandon" x11 + "about", no passphrase,
    // m/44'/60'/0'/0/0 (the address MetaMask, ethers and viem derive).
    let dir = TempDir::new();
    let home = dir.0.join("imported");
    let mut p = Interactive::spawn(cmd(&home).args([
        "init",
        "--import",
        "--relay",
        "ws://127.0.0.1:9/v1/ws",
    ]));
    p.answer("abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about");
    let (ok, out, err) = p.finish();
    assert!(ok, "{out}{err}");
    assert!(
        out.contains("address: 0x9858EfFD232B4033E47d90003D41EC34EcaEda94"),
        "{out}"
    );
    // A second init into the same home is refused; so is a wrong password.
    let o = cmd(&home).args(["init"]).output().unwrap();
    assert!(!o.status.success());
    assert!(text(&o).1.contains("already holds"), "{:?}", text(&o));
    let o = cmd(&home)
        .env("TANDEM_PASSWORD", "wrong")
        .args(["whoami"])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(text(&o).1.contains("wrong password"), "{:?}", text(&o));
}

/// Revoked as lost with `--erase`, a device erases its wallet when it hears
/// of it: its vault is gone, and it says how to restore.
#[test]
fn erase_on_revoke_removes_the_vault() {
    let relay = Relay::start();
    let dir = TempDir::new();
    let phone = Dev::new(&dir, "phone", &relay);
    let desk = Dev::new(&dir, "desk", &relay);
    pair(&phone, &desk);
    let err = phone.run_err(&["revoke", &desk.id(), "--reason", "retired", "--erase"]);
    assert!(err.contains("lost or compromised"), "{err}");
    phone.run_ok(&["revoke", &desk.id(), "--reason", "lost", "--erase"]);
    let err = desk.run_err(&["recv", "--idle", "1"]);
    assert!(
        err.contains("asked for its wallet to be erased") && err.contains("--import"),
        "{err}"
    );
    let err = desk.run_err(&["whoami"]);
    assert!(err.contains("no Tandem device"), "{err}");
}
