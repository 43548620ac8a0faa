//! The usage text answers `help`, `--help` and `-h`, anywhere on the line,
//! and lists every setting with its environment variable.

use std::process::Command;

fn run(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tandem"))
        .args(args)
        .env(
            "TANDEM_HOME",
            std::env::temp_dir().join("tandem-usage-test-unused"),
        )
        .output()
        .expect("the tandem binary runs");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

#[test]
fn help_flags_print_the_usage() {
    for args in [&["help"][..], &["--help"], &["-h"], &["pair", "--help"]] {
        let (ok, text) = run(args);
        assert!(ok, "{args:?} failed: {text}");
        assert!(text.contains("Usage: tandem"), "{args:?} printed: {text}");
    }
    let (_, text) = run(&["--help"]);
    for s in [
        "--home",
        "TANDEM_HOME",
        "--ca-file",
        "TANDEM_RELAY_CA",
        "TANDEM_PASSWORD",
    ] {
        assert!(text.contains(s), "--help does not name {s}: {text}");
    }
    let (_, text) = run(&["pair", "accept", "--help"]);
    for s in ["--compare", "--code", "--allow-other-relay", "--timeout"] {
        assert!(
            text.contains(s),
            "pair accept --help does not name {s}: {text}"
        );
    }
}

#[test]
fn an_option_without_its_value_is_named() {
    let (ok, text) = run(&["--home"]);
    assert!(!ok);
    assert!(
        text.contains("a value is required for '--home <DIR>'"),
        "{text}"
    );
    let (ok, text) = run(&["recv", "--idle", "soon"]);
    assert!(!ok);
    assert!(
        text.contains("'--idle <S>'") && text.contains("soon"),
        "{text}"
    );
    let (ok, text) = run(&["init", "--bogus"]);
    assert!(!ok);
    assert!(text.contains("'--bogus'"), "{text}");
}
