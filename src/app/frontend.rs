//! The embedded web UI: every file under `frontend/` is compiled into the
//! binary (debug builds read them from disk, so edits show on reload).
//!
//! poem's ready-made embed endpoint sends unquoted ETags and does not answer
//! HEAD; browsers and caches expect both, so this small endpoint does it.
//! HTML pages get their shared head and navigation put in as they are
//! served ([`shell`]).

mod shell;

use std::borrow::Cow;

use poem::http::{Method, StatusCode, header};
use poem::{Endpoint, Request, Response, Result};
use rust_embed::RustEmbed;
use sha2::{Digest, Sha256};

#[derive(RustEmbed)]
#[folder = "frontend/"]
pub struct Assets;

/// Serves `frontend/`, with `/` mapped to `index.html`.
pub struct Frontend;

impl Endpoint for Frontend {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Response> {
        if !matches!(*req.method(), Method::GET | Method::HEAD) {
            return Err(poem::Error::from_status(StatusCode::METHOD_NOT_ALLOWED));
        }
        let path = req.uri().path().trim_start_matches('/');
        // Every lesson is the same page; its script reads the slug from the URL.
        let path = if path == "lessons" || path.starts_with("lessons/") {
            "lesson.html".to_owned()
        } else if path == "favicon.ico" {
            // Pages without a <link rel=icon> (Swagger UI) still ask for this.
            "favicon.svg".to_owned()
        } else if path.is_empty() || path.ends_with('/') {
            format!("{path}index.html")
        } else {
            path.to_owned()
        };
        // The partials are pieces of pages, not pages.
        if path.starts_with("partials/") {
            return Err(poem::Error::from_status(StatusCode::NOT_FOUND));
        }
        let Some(file) = Assets::get(&path) else {
            return Err(poem::Error::from_status(StatusCode::NOT_FOUND));
        };
        let (data, hash): (Cow<'static, [u8]>, [u8; 32]) =
            match assembled_page(&path, &file.data, req.uri().path()) {
                Some(page) => {
                    let hash = Sha256::digest(&page).into();
                    (Cow::Owned(page), hash)
                }
                None => (file.data, file.metadata.sha256_hash()),
            };
        let etag = format!("\"{}\"", hex(&hash[..16]));
        let builder = Response::builder()
            .header(header::ETAG, etag.as_str())
            .header(header::CACHE_CONTROL, "no-cache")
            .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
        let matches_etag = req
            .headers()
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
        if matches_etag {
            return Ok(builder.status(StatusCode::NOT_MODIFIED).finish());
        }
        let builder = builder.content_type(content_type(file.metadata.mimetype()));
        if req.method() == Method::HEAD {
            return Ok(builder.header(header::CONTENT_LENGTH, data.len()).finish());
        }
        Ok(builder.body(data.into_owned()))
    }
}

/// The HTML page `file` with its shared partials put in (`url_path` marks
/// the current link), or `None` when it is no page asking for them.
fn assembled_page(file: &str, data: &[u8], url_path: &str) -> Option<Vec<u8>> {
    if !file.ends_with(".html") {
        return None;
    }
    let page = std::str::from_utf8(data).ok()?;
    if !shell::wants_partials(page) {
        return None;
    }
    let head = Assets::get("partials/head.html")?;
    let nav = Assets::get("partials/nav.html")?;
    let partials = shell::Partials {
        head: std::str::from_utf8(&head.data).ok()?,
        nav: std::str::from_utf8(&nav.data).ok()?,
    };
    Some(shell::assemble(page, url_path, &partials).into_bytes())
}

/// Text types are declared UTF-8 so browsers never guess.
fn content_type(mime: &str) -> String {
    if (mime.starts_with("text/") || mime == "application/javascript") && !mime.contains("charset")
    {
        format!("{mime}; charset=utf-8")
    } else {
        mime.to_owned()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
