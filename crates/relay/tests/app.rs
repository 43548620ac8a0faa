//! The phone web app at `/app/` (`--app-dir`), against the real binary
//! over raw HTTP/1.1 (so request paths reach the relay exactly as written,
//! `..` and percent-escapes included): files with their content types and
//! security headers, HEAD, redirects, no listings, and no way out of the
//! folder.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns unwrap too

mod common;

use std::{
    io::{Read, Write},
    net::TcpStream,
    path::Path,
    process::Command,
    time::Duration,
};

use common::{RelayProc, TempDir};

const CSP: &str = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; \
style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; manifest-src 'self'; \
worker-src 'self'; media-src 'self' blob: mediastream:; base-uri 'none'; \
form-action 'none'; frame-ancestors 'none'";

/// What a file outside the app folder contains; no response may carry it.
const SECRET: &str = "TOP-SECRET-OUTSIDE-THE-APP";

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One request with `target` sent byte for byte.
fn request(relay: &RelayProc, method: &str, target: &str) -> Reply {
    let addr = relay
        .url
        .trim_start_matches("ws://")
        .trim_end_matches("/v1/ws");
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no header end: {}", String::from_utf8_lossy(&raw)));
    let head = String::from_utf8(raw[..split].to_vec()).unwrap();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    Reply {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    }
}

fn get(relay: &RelayProc, target: &str) -> Reply {
    request(relay, "GET", target)
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// `<tmp>/app/...` (the app) next to `<tmp>/Cargo.toml` and
/// `<tmp>/outside/` (secrets), with symlinks from the app to both.
fn app_folder() -> TempDir {
    let dir = TempDir::new("app");
    let root = dir.path();
    write(&root.join("Cargo.toml"), SECRET);
    write(&root.join("outside/secret.txt"), SECRET);
    write(&root.join("outside/index.html"), SECRET);
    let app = root.join("app");
    write(
        &app.join("index.html"),
        "<!doctype html><title>Tandem</title>",
    );
    write(
        &app.join("sw.js"),
        "self.addEventListener('fetch', () => {});",
    );
    write(&app.join("app.js"), "export {};");
    write(&app.join("lib.mjs"), "export const x = 1;");
    write(&app.join("style.css"), "body{}");
    write(&app.join("data.json"), "{}");
    write(&app.join("manifest.webmanifest"), "{}");
    write(&app.join("icon.png"), "png");
    write(&app.join("icon.svg"), "<svg/>");
    std::fs::write(app.join("core_bg.wasm"), b"\0asm\x01\0\0\0").unwrap();
    write(&app.join("docs/index.html"), "docs");
    write(&app.join("app/index.html"), "nested");
    write(&app.join("empty/readme.txt"), "no index here");
    let link = |to: &Path, name: &str| std::os::unix::fs::symlink(to, app.join(name)).unwrap();
    link(&root.join("Cargo.toml"), "escape.txt");
    link(&root.join("outside"), "escape-dir");
    link(&app.join("app.js"), "inside.js");
    dir
}

fn app_dir_arg(dir: &TempDir) -> String {
    dir.path().join("app").to_string_lossy().into_owned()
}

fn spawn_with_app(dir: &TempDir) -> RelayProc {
    let db = dir.path().join("relay.db").to_string_lossy().into_owned();
    RelayProc::spawn(&["--database", &db, "--app-dir", &app_dir_arg(dir)])
}

fn assert_app_headers(r: &Reply, what: &str) {
    assert_eq!(r.header("content-security-policy"), Some(CSP), "{what}");
    assert_eq!(
        r.header("x-content-type-options"),
        Some("nosniff"),
        "{what}"
    );
    assert_eq!(r.header("referrer-policy"), Some("no-referrer"), "{what}");
    assert_eq!(
        r.header("permissions-policy"),
        Some("camera=(self), microphone=()"),
        "{what}"
    );
    assert_eq!(
        r.header("cross-origin-opener-policy"),
        Some("same-origin"),
        "{what}"
    );
}

#[test]
fn serves_the_app_with_its_headers_and_content_types() {
    let dir = app_folder();
    let relay = spawn_with_app(&dir);

    let index = get(&relay, "/app/");
    assert_eq!(index.status, 200);
    assert_eq!(index.text(), "<!doctype html><title>Tandem</title>");
    assert!(
        index
            .header("content-type")
            .unwrap()
            .starts_with("text/html"),
        "{:?}",
        index.headers
    );
    assert_eq!(index.header("cache-control"), Some("no-cache"));
    assert_app_headers(&index, "/app/");

    for (path, ctype, cache) in [
        ("/app/index.html", "text/html", "no-cache"),
        ("/app/sw.js", "text/javascript", "no-cache"),
        (
            "/app/manifest.webmanifest",
            "application/manifest+json",
            "no-cache",
        ),
        ("/app/core_bg.wasm", "application/wasm", "max-age=300"),
        ("/app/app.js", "text/javascript", "max-age=300"),
        ("/app/style.css", "text/css", "max-age=300"),
        ("/app/data.json", "application/json", "max-age=300"),
        ("/app/icon.png", "image/png", "max-age=300"),
        ("/app/icon.svg", "image/svg+xml", "max-age=300"),
        ("/app/inside.js", "text/javascript", "max-age=300"),
    ] {
        let r = get(&relay, path);
        assert_eq!(r.status, 200, "{path}");
        let got = r.header("content-type").unwrap();
        assert!(got.starts_with(ctype), "{path}: {got}");
        assert_eq!(r.header("cache-control"), Some(cache), "{path}");
        assert_app_headers(&r, path);
    }
    // A JavaScript module: any JavaScript MIME type runs as a module.
    let r = get(&relay, "/app/lib.mjs");
    assert_eq!(r.status, 200);
    let got = r.header("content-type").unwrap();
    assert!(
        got.starts_with("text/javascript") || got.starts_with("application/javascript"),
        "{got}"
    );
    assert_eq!(get(&relay, "/app/core_bg.wasm").body, b"\0asm\x01\0\0\0");

    // The relay itself still answers next to the app.
    assert_eq!(get(&relay, "/health").status, 200);
    assert_eq!(
        get(&relay, "/health").header("content-security-policy"),
        None
    );
}

#[test]
fn head_redirects_and_no_listings() {
    let dir = app_folder();
    let relay = spawn_with_app(&dir);

    let head = request(&relay, "HEAD", "/app/");
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    assert_eq!(head.header("content-length"), Some("36"));
    assert!(head
        .header("content-type")
        .unwrap()
        .starts_with("text/html"));
    assert_app_headers(&head, "HEAD /app/");
    let head = request(&relay, "HEAD", "/app/core_bg.wasm");
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-type"), Some("application/wasm"));
    assert!(head.body.is_empty());

    let r = get(&relay, "/app");
    assert!(r.status == 308 || r.status == 301, "{}", r.status);
    assert_eq!(r.header("location"), Some("/app/"));
    assert_app_headers(&r, "/app");
    let r = request(&relay, "HEAD", "/app");
    assert!(r.status == 308 || r.status == 301, "{}", r.status);

    // A folder with an index: redirected under /app/, then served.
    let r = get(&relay, "/app/docs");
    assert!(r.status / 100 == 3, "{}", r.status);
    assert_eq!(r.header("location"), Some("/app/docs/"));
    assert_eq!(get(&relay, "/app/docs/").text(), "docs");
    let r = get(&relay, "/app/app");
    assert_eq!(r.header("location"), Some("/app/app/"));
    assert_eq!(get(&relay, "/app/app/").text(), "nested");
    // A folder without one: 404, never a listing.
    let r = get(&relay, "/app/empty");
    assert_eq!(r.header("location"), Some("/app/empty/"));
    let r = get(&relay, "/app/empty/");
    assert_eq!(r.status, 404);
    assert!(!r.text().contains("readme"), "{}", r.text());
    assert_app_headers(&r, "/app/empty/");
    assert_eq!(r.header("cache-control"), Some("no-cache"));
    let r = get(&relay, "/app/missing.js");
    assert_eq!(r.status, 404);
    assert_app_headers(&r, "404");

    // Only reads.
    let r = request(&relay, "POST", "/app/index.html");
    assert_eq!(r.status, 405);
    let r = request(&relay, "DELETE", "/app/index.html");
    assert_eq!(r.status, 405);
}

#[test]
fn nothing_outside_the_folder_is_reachable() {
    let dir = app_folder();
    let relay = spawn_with_app(&dir);
    let root = dir.path().to_string_lossy().into_owned();
    let enc_root = root.replace('/', "%2f");
    let targets = [
        "/app/../Cargo.toml".to_owned(),
        "/app/%2e%2e/Cargo.toml".to_owned(),
        "/app/%2E%2E/Cargo.toml".to_owned(),
        "/app/.%2e/Cargo.toml".to_owned(),
        "/app/..%2fCargo.toml".to_owned(),
        "/app/..%2FCargo.toml".to_owned(),
        "/app/%2e%2e%2fCargo.toml".to_owned(),
        "/app/docs/../../Cargo.toml".to_owned(),
        "/app/docs/%2e%2e/%2e%2e/Cargo.toml".to_owned(),
        "/app/..%5cCargo.toml".to_owned(),
        "/app/%252e%252e/Cargo.toml".to_owned(),
        "/app/../outside/secret.txt".to_owned(),
        "/app/%2e%2e/outside/".to_owned(),
        // Absolute paths, plain and encoded.
        format!("/app/{root}/Cargo.toml"),
        format!("/app/{enc_root}%2fCargo.toml"),
        format!("/app/%2f{}/Cargo.toml", root.trim_start_matches('/')),
        "/app/%2fetc%2fpasswd".to_owned(),
        "/app//etc/passwd".to_owned(),
        // Symlinks that lead out of the folder.
        "/app/escape.txt".to_owned(),
        "/app/escape-dir/secret.txt".to_owned(),
        "/app/escape-dir/".to_owned(),
        "/app/escape-dir".to_owned(),
        "/app/%65scape.txt".to_owned(),
        "/app/./escape.txt".to_owned(),
        // Outside /app/ altogether.
        "/Cargo.toml".to_owned(),
        "/app-dir/Cargo.toml".to_owned(),
        "/appCargo.toml".to_owned(),
    ];
    for t in &targets {
        let r = get(&relay, t);
        assert!(
            matches!(r.status, 400 | 404),
            "{t}: got {} {:?}",
            r.status,
            r.headers
        );
        assert!(!r.text().contains(SECRET), "{t} leaked the file outside");
        assert!(!r.text().contains("root:"), "{t} leaked /etc/passwd");
        let r = request(&relay, "HEAD", t);
        assert!(matches!(r.status, 400 | 404), "HEAD {t}: {}", r.status);
    }
    // The relay still serves its own files after all that.
    assert_eq!(get(&relay, "/app/app.js").status, 200);
}

#[test]
fn no_app_without_the_option() {
    let dir = app_folder();
    let db = dir.path().join("relay.db").to_string_lossy().into_owned();
    let relay = RelayProc::spawn(&["--database", &db]);
    for path in ["/app/", "/app", "/app/index.html"] {
        let r = get(&relay, path);
        assert_eq!(r.status, 404, "{path}");
        assert_eq!(r.header("content-security-policy"), None, "{path}");
        assert!(!r.text().contains("Tandem"), "{path}");
    }
    assert_eq!(request(&relay, "HEAD", "/app/").status, 404);
}

#[test]
fn missing_app_folder_is_a_clear_startup_error() {
    let dir = TempDir::new("app-missing");
    let missing = dir.path().join("no-such-app");
    let out = Command::new(env!("CARGO_BIN_EXE_tandem-relay"))
        .args(["--listen", "127.0.0.1:0", "--app-dir"])
        .arg(&missing)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--app-dir") && err.contains("no-such-app"),
        "{err}"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_tandem-relay"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("--app-dir <DIR>"));
}
