//! The web console of design.md §14: `/ui` (overview), `/ui/sessions`, `/ui/sessions/{id}`
//! and `/ui/live`, each answering the same HTML shell, plus its static assets under
//! `/ui/assets/`.
//!
//! The console is only pages: every figure and every conversation it shows is read by the
//! browser from the data API (§3.3), `/health` and `/v1/events`, with the key the person
//! entered. So these routes sit outside the key check — the shell and the assets hold no
//! data, and asking for a key before a page that asks for a key could load would lock people
//! out — while everything they display is fetched behind it. The assets are files in
//! `assets/` beside this module, embedded with `include_bytes!` so the binary works offline
//! and the crate builds without Node. Each is sent with its xxh3 content hash as `ETag` and
//! `Cache-Control: no-cache`, so a browser revalidates with a cheap 304 and never runs a
//! stale script after an upgrade.
//!
//! Every answer under `/ui` — assets, shell and the 404 of an unknown path alike — carries a
//! Content-Security-Policy that allows scripts, styles and connections only from `serve`
//! itself and no inline script at all, plus `nosniff` and `no-referrer`: stored text is
//! rendered as text by the scripts (`textContent`, never `innerHTML`), and the policy is the
//! second wall should that ever fail.

use std::sync::LazyLock;

use axum::Router;
use axum::extract::{Path, Request};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// The policy of every `/ui` answer (see the module header).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; \
    form-action 'self'; frame-ancestors 'none'";

/// One embedded file.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

/// The page every view answers; it names the assets and holds no data.
const SHELL: Asset = Asset {
    name: "console.html",
    content_type: "text/html; charset=utf-8",
    body: include_bytes!("assets/console.html"),
};

/// Everything under `/ui/assets/`.
const ASSETS: &[Asset] = &[
    Asset {
        name: "console.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("assets/console.css"),
    },
    Asset {
        name: "console.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("assets/console.js"),
    },
    Asset {
        name: "views.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("assets/views.js"),
    },
    Asset {
        name: "dom.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("assets/dom.js"),
    },
    Asset {
        name: "markdown.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("assets/markdown.js"),
    },
    Asset {
        name: "icon.svg",
        content_type: "image/svg+xml",
        body: include_bytes!("assets/icon.svg"),
    },
];

/// Total size of the shell and the assets in bytes, uncompressed (docs/API.md states it).
pub fn assets_size() -> usize {
    SHELL.body.len() + ASSETS.iter().map(|a| a.body.len()).sum::<usize>()
}

/// The `ETag` of each asset, the shell's first, computed once.
static ETAGS: LazyLock<Vec<HeaderValue>> = LazyLock::new(|| {
    std::iter::once(&SHELL)
        .chain(ASSETS)
        .map(|a| {
            let hash = xxhash_rust::xxh3::xxh3_64(a.body);
            HeaderValue::from_str(&format!("\"{hash:016x}\"")).expect("hex is a valid header")
        })
        .collect()
});

/// The console's routes; merged outside the key check by [`super::router`].
pub fn router() -> Router {
    Router::new()
        .route("/ui", get(shell))
        .route("/ui/", get(shell))
        .route("/ui/sessions", get(shell))
        .route("/ui/sessions/{id}", get(shell))
        .route("/ui/live", get(shell))
        .route("/ui/assets/{name}", get(asset))
        .route("/ui/{*rest}", get(not_found))
        .layer(axum::middleware::from_fn(secure))
}

async fn shell(headers: HeaderMap) -> Response {
    send(&SHELL, &ETAGS[0], &headers)
}

async fn asset(Path(name): Path<String>, headers: HeaderMap) -> Response {
    match ASSETS.iter().position(|a| a.name == name) {
        Some(i) => send(&ASSETS[i], &ETAGS[i + 1], &headers),
        None => not_found().await,
    }
}

async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "Not found.\n",
    )
        .into_response()
}

/// The asset, or a 304 when the browser already holds this version.
fn send(asset: &Asset, etag: &HeaderValue, headers: &HeaderMap) -> Response {
    let cached = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let common = [
        (header::ETAG, etag.clone()),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
    ];
    if cached {
        return (StatusCode::NOT_MODIFIED, common).into_response();
    }
    (
        common,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(asset.content_type),
        )],
        asset.body,
    )
        .into_response()
}

/// Adds the security headers to every `/ui` answer.
async fn secure(req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_the_shell_names_is_served() {
        let shell = std::str::from_utf8(SHELL.body).unwrap();
        for part in shell.split("/ui/assets/").skip(1) {
            let name = part.split('"').next().unwrap();
            assert!(
                ASSETS.iter().any(|a| a.name == name),
                "the shell names {name}, which is not embedded"
            );
        }
        // Scripts import each other by relative name: those must be embedded too.
        for a in ASSETS.iter().filter(|a| a.name.ends_with(".js")) {
            let text = std::str::from_utf8(a.body).unwrap();
            for part in text.split("from \"./").skip(1) {
                let name = part.split('"').next().unwrap();
                assert!(
                    ASSETS.iter().any(|b| b.name == name),
                    "{} imports {name}",
                    a.name
                );
            }
        }
    }

    #[test]
    fn the_shell_has_no_inline_script_or_style() {
        let shell = std::str::from_utf8(SHELL.body).unwrap();
        for tag in shell.split("<script").skip(1) {
            let (attrs, rest) = tag.split_once('>').unwrap();
            assert!(attrs.contains("src="), "inline script in the shell");
            assert!(rest.starts_with("</script>"), "a script tag with a body");
        }
        assert!(!shell.contains("<style") && !shell.contains("style="));
        let handler = shell.split(" on").skip(1).any(|rest| {
            let name: String = rest.chars().take_while(char::is_ascii_lowercase).collect();
            !name.is_empty() && rest[name.len()..].starts_with('=')
        });
        assert!(!handler, "an inline event handler in the shell");
    }

    #[test]
    fn the_assets_stay_small() {
        assert!(assets_size() < 100 * 1024, "{} bytes", assets_size());
    }
}
