//! `GET`/`HEAD /app/...`: the phone web app's static files, served from the
//! folder given with `--app-dir` (see [`Config::app_dir`](crate::Config::app_dir)).
//!
//! Files are served by tower-http's [`ServeDir`]: it never lists a folder
//! (a folder without `index.html` is 404) and refuses `..`, absolute and
//! drive-prefixed components after percent-decoding. It does follow
//! symlinks, so [`guard`] first refuses any request whose file resolves
//! outside the folder. Every response (files, redirects and errors) carries
//! the app's security headers and a cache policy.

use std::path::{Component, Path, PathBuf};

use axum::{
    extract::{Request, State},
    http::{header, HeaderValue, StatusCode},
    middleware::{self, Next},
    response::{IntoResponse, Redirect, Response},
    routing::get,
    Router,
};
use percent_encoding::percent_decode_str;
use tower_http::services::ServeDir;

/// Where the app lives on the relay.
const PREFIX: &str = "/app";

/// The Content-Security-Policy of every `/app/` response: only the app's
/// own files, WebAssembly allowed, the camera stream for QR scanning,
/// connections back to this origin only (the relay's WebSocket).
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; \
script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data: blob:; \
connect-src 'self'; manifest-src 'self'; worker-src 'self'; \
media-src 'self' blob: mediastream:; base-uri 'none'; form-action 'none'; \
frame-ancestors 'none'";

/// Cache lifetime of app files other than the entry points.
const CACHE_BRIEFLY: &str = "max-age=300";

/// Routes `/app` (redirect) and `/app/...` (files from `dir`).
pub(super) fn router<S: Clone + Send + Sync + 'static>(dir: &Path) -> Router<S> {
    // Compare resolved paths against the resolved folder (it may itself be
    // a symlink, which is fine: the operator chose it).
    let root = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    let files = ServeDir::new(&root).append_index_html_on_directories(true);
    Router::new()
        .route(PREFIX, get(|| async { Redirect::permanent("/app/") }))
        .nest_service("/app/", files)
        .layer(middleware::from_fn_with_state(Root(root), guard))
}

#[derive(Clone)]
struct Root(PathBuf);

/// Refuses files that resolve outside the folder, then adds the headers.
async fn guard(State(Root(root)): State<Root>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    let mut res = if escapes(&root, &path).await {
        StatusCode::NOT_FOUND.into_response()
    } else {
        next.run(req).await
    };
    // ServeDir redirects `/app/dir` to `/dir/` (it sees the path without
    // the prefix); put the prefix back. (`/app` itself is redirected by
    // the route above, already with it.)
    if res.status().is_redirection() && path != PREFIX {
        if let Some(loc) = res.headers().get(header::LOCATION).cloned() {
            let loc = loc.to_str().unwrap_or_default();
            if loc.starts_with('/') {
                match HeaderValue::from_str(&format!("{PREFIX}{loc}")) {
                    Ok(v) => {
                        res.headers_mut().insert(header::LOCATION, v);
                    }
                    Err(_) => return StatusCode::NOT_FOUND.into_response(),
                }
            }
        }
    }
    add_headers(&path, &mut res);
    res
}

/// Whether the file (or folder index) that `request_path` names resolves,
/// through symlinks, to somewhere outside `root`. Paths that ServeDir
/// refuses by themselves (`..`, absolute, undecodable) are left to it.
async fn escapes(root: &Path, request_path: &str) -> bool {
    let Some(rel) = request_path.strip_prefix(PREFIX) else {
        return false;
    };
    let Ok(decoded) = percent_decode_str(rel.trim_start_matches('/')).decode_utf8() else {
        return false;
    };
    let mut file = root.to_path_buf();
    for c in Path::new(&*decoded).components() {
        match c {
            Component::Normal(part) => file.push(part),
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => return false,
        }
    }
    let index = file.join("index.html");
    for candidate in [file, index] {
        // A path that does not resolve does not exist: ServeDir answers 404.
        if let Ok(real) = tokio::fs::canonicalize(&candidate).await {
            if !real.starts_with(root) {
                return true;
            }
        }
    }
    false
}

fn add_headers(path: &str, res: &mut Response) {
    let cache = if res.status().is_success() && !is_entry_point(path) {
        CACHE_BRIEFLY
    } else {
        "no-cache"
    };
    let h = res.headers_mut();
    let set = |h: &mut axum::http::HeaderMap, name: header::HeaderName, v: &'static str| {
        h.insert(name, HeaderValue::from_static(v));
    };
    set(h, header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY);
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(h, header::REFERRER_POLICY, "no-referrer");
    set(
        h,
        header::HeaderName::from_static("permissions-policy"),
        "camera=(self), microphone=()",
    );
    set(
        h,
        header::HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
    set(h, header::CACHE_CONTROL, cache);
}

/// Files a browser must revalidate on every load so that a new version of
/// the app is seen: the page, the service worker and the manifest.
fn is_entry_point(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or_default();
    name.is_empty() || name == "index.html" || name == "sw.js" || name.ends_with(".webmanifest")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_points_are_revalidated() {
        for p in [
            "/app/",
            "/app/index.html",
            "/app/sw.js",
            "/app/x/app.webmanifest",
        ] {
            assert!(is_entry_point(p), "{p}");
        }
        for p in [
            "/app/app.js",
            "/app/core_bg.wasm",
            "/app/style.css",
            "/app/sw.js.map",
        ] {
            assert!(!is_entry_point(p), "{p}");
        }
    }
}
