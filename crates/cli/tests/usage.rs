//! The usage text answers `help`, `--help` and `-h`, anywhere on the line.

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
        assert!(text.contains("usage: tandem"), "{args:?} printed: {text}");
    }
}

#[test]
fn an_option_without_its_value_is_named() {
    let (ok, text) = run(&["--home"]);
    assert!(!ok);
    assert!(text.contains("--home needs a value"), "{text}");
}
