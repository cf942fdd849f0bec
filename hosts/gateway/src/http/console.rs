//! The web console: static files embedded in the binary at build time (`build.rs` writes
//! the table), served under `/console/`, and `GET /` for a browser.
//!
//! Only the sign-in page is public: `/` (for `Accept: text/html`), its script and its
//! stylesheet, and the npm package's files the playground imports (a published library).
//! The console itself (`/console/app/…`) is answered only with the admin token in
//! `X-Admin-Token`: the sign-in script fetches it with the token and runs it, so without
//! a valid token a browser gets nothing but the sign-in page. Every view's data comes
//! from the admin API, which checks the token on every call.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::{ApiError, health};
use crate::state::AppState;

/// One embedded file.
#[derive(Debug)]
pub struct Asset {
    /// Where it is served (`/console/…`).
    pub path: &'static str,
    /// Its `Content-Type`.
    pub content_type: &'static str,
    /// Its bytes.
    pub bytes: &'static [u8],
}

/// Every embedded file.
pub static ASSETS: &[Asset] = include!(concat!(env!("OUT_DIR"), "/console_assets.rs"));

/// The files under this prefix need the admin token.
const PRIVATE: &str = "/console/app/";

/// What the console's pages may load: only this gateway's own files (the sign-in script
/// runs the console from a `blob:` URL), WebAssembly compiled from them, and calls to this
/// gateway; no framing.
const CSP: &str = "default-src 'none'; script-src 'self' blob: 'wasm-unsafe-eval'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'none'; \
     base-uri 'none'; frame-ancestors 'none'";

fn asset(path: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.path == path)
}

fn serve(a: &Asset) -> Response {
    let mut resp = (StatusCode::OK, a.bytes).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(a.content_type),
    );
    // Small files from a local gateway: always revalidated, so an upgraded gateway never
    // runs an old console.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    resp
}

/// Whether the client prefers a page to JSON (a browser's navigation does; the SDKs and
/// `curl` do not ask for HTML).
fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"))
}

/// `GET /`: the console's sign-in page for a browser, the info document for the rest.
pub async fn root(state: State<Arc<AppState>>, headers: HeaderMap) -> Response {
    match asset("/console/index.html") {
        Some(page) if wants_html(&headers) => serve(page),
        _ => health::info(state).await,
    }
}

/// `GET /console/{*path}`.
pub async fn file(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(path): Path<String>,
) -> Response {
    let path = format!("/console/{path}");
    let Some(a) = asset(&path) else {
        return ApiError::not_found(format!("no console file `{path}`")).into_response();
    };
    if a.path.starts_with(PRIVATE) && !state.admin.accepts(&headers) {
        return ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "missing or invalid admin token (X-Admin-Token)",
        )
        .into_response();
    }
    serve(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sign_in_page_the_console_and_the_package_are_embedded() {
        for path in [
            "/console/index.html",
            "/console/signin.js",
            "/console/style.css",
            "/console/app/console.js",
            "/console/pkg/js/auto.js",
            "/console/pkg/js/api.js",
            "/console/pkg/pkg/web/meshguard_wasm.js",
            "/console/pkg/pkg/web/meshguard_wasm_bg.wasm",
        ] {
            let a = asset(path).unwrap_or_else(|| panic!("{path} is not embedded"));
            assert!(!a.bytes.is_empty(), "{path} is empty");
        }
        let wasm = asset("/console/pkg/pkg/web/meshguard_wasm_bg.wasm").map(|a| a.bytes);
        assert_eq!(wasm.map(|b| &b[..4]), Some(&b"\0asm"[..]));
    }

    #[test]
    fn only_a_browser_gets_the_page() {
        let mut h = HeaderMap::new();
        assert!(!wants_html(&h));
        h.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
        assert!(!wants_html(&h));
        h.insert(
            header::ACCEPT,
            HeaderValue::from_static("text/html,application/xhtml+xml,*/*;q=0.8"),
        );
        assert!(wants_html(&h));
    }
}
