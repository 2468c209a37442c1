//! The OpenAPI document as served, and the `Allow` header of `405` answers.
//!
//! poem-openapi writes the document from the Rust types; a few facts it does
//! not know are added here, so a client generated from (or a fuzzer driven
//! by) `/openapi.json` sends exactly what the server accepts:
//!
//! - the range of every sized integer (`format: uint64` gets `minimum: 0` and
//!   `maximum: 18446744073709551615`): a value outside it is a `400`;
//! - that a body property with a default also takes `null` (poem-openapi
//!   reads it as "absent", so the default applies);
//! - the long-poll `timeout` range, which comes from the command line;
//! - that a race report has at most four lanes;
//! - what the fault gate answers in front of the transports (a deploy's
//!   `502`, the corporate proxy's `403`), see [`crate::lab::faults::gate`].
//!
//! - the `421` of the Host allow-list, on every operation ([`super::hosts`]).
//!
//! [`AllowHeader`] adds `Allow` (RFC 9110 §15.5.6) to the `405` a documented
//! path gives for a method it does not take, listing the methods the
//! document gives for that path.

use std::collections::BTreeMap;

use futures_util::FutureExt;
use poem::http::{HeaderValue, Method, StatusCode, header};
use poem::{Endpoint, IntoResponse, Middleware, Request, Response, Result};
use serde_json::{Value, json};

use crate::config::Config;

/// The document poem-openapi wrote (`raw`, JSON), completed as described above.
pub fn document(raw: &str, config: &Config) -> Value {
    let mut doc: Value = serde_json::from_str(raw).unwrap_or(Value::Null);
    integer_ranges(&mut doc);
    if let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        schemas.values_mut().for_each(defaults_take_null);
    }
    if let Some(timeout) = parameter(&mut doc, "/api/long-poll", "get", "timeout") {
        timeout["schema"]["minimum"] = json!(1);
        timeout["schema"]["maximum"] = json!(config.long_poll_max_timeout_secs);
    }
    if let Some(content) = doc
        .pointer_mut("/paths/~1api~1lab~1runs~1{id}~1report/post/requestBody/content")
        .and_then(Value::as_object_mut)
    {
        for media in content.values_mut() {
            media["schema"]["maxItems"] = json!(4);
        }
    }
    crate::lab::faults::gate::document(&mut doc);
    crate::app::hosts::document(&mut doc);
    doc
}

/// Swagger UI's page with the completed document in place of the one
/// poem-openapi embedded, so "Try it out" knows the same limits as clients.
pub fn swagger_ui_html(html: &str, raw: &str, doc: &Value) -> String {
    let completed = serde_json::to_string(doc).unwrap_or_else(|_| raw.to_owned());
    html.replacen(
        &format!("let spec = {raw};"),
        &format!("let spec = {completed};"),
        1,
    )
}

/// Marks the properties of an object schema that have a `default` as `nullable`.
fn defaults_take_null(schema: &mut Value) {
    if let Some(properties) = schema.get_mut("properties").and_then(Value::as_object_mut) {
        for property in properties.values_mut() {
            if let Some(p) = property.as_object_mut()
                && p.contains_key("default")
            {
                p.insert("nullable".into(), Value::Bool(true));
            }
        }
    }
}

/// Adds `minimum` and `maximum` to every integer schema with a sized format,
/// unless the schema already has its own.
fn integer_ranges(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if map.get("type").and_then(Value::as_str) == Some("integer") {
                let range = match map.get("format").and_then(Value::as_str) {
                    Some("uint8") => Some((json!(0), json!(u8::MAX))),
                    Some("uint16") => Some((json!(0), json!(u16::MAX))),
                    Some("uint32") => Some((json!(0), json!(u32::MAX))),
                    Some("uint64") => Some((json!(0), json!(u64::MAX))),
                    Some("int8") => Some((json!(i8::MIN), json!(i8::MAX))),
                    Some("int16") => Some((json!(i16::MIN), json!(i16::MAX))),
                    Some("int32") => Some((json!(i32::MIN), json!(i32::MAX))),
                    Some("int64") => Some((json!(i64::MIN), json!(i64::MAX))),
                    _ => None,
                };
                if let Some((min, max)) = range {
                    map.entry("minimum").or_insert(min);
                    map.entry("maximum").or_insert(max);
                }
            }
            map.values_mut().for_each(integer_ranges);
        }
        Value::Array(items) => items.iter_mut().for_each(integer_ranges),
        _ => {}
    }
}

/// The parameter `name` of the operation `method path`.
fn parameter<'a>(
    doc: &'a mut Value,
    path: &str,
    method: &str,
    name: &str,
) -> Option<&'a mut Value> {
    doc.get_mut("paths")?
        .get_mut(path)?
        .get_mut(method)?
        .get_mut("parameters")?
        .as_array_mut()?
        .iter_mut()
        .find(|p| p["name"] == name)
}

/// Path templates of the document (`/api/feeds/{name}`) and their methods.
fn methods_by_path(doc: &Value) -> Vec<(Vec<String>, String)> {
    let Some(paths) = doc["paths"].as_object() else {
        return Vec::new();
    };
    paths
        .iter()
        .map(|(path, item)| {
            let segments = path.split('/').map(str::to_owned).collect();
            let mut methods: Vec<String> = item
                .as_object()
                .into_iter()
                .flat_map(|ops| ops.keys())
                .filter_map(|m| Method::from_bytes(m.to_ascii_uppercase().as_bytes()).ok())
                .map(|m| m.to_string())
                .collect();
            if methods.iter().any(|m| m == "GET") {
                // poem answers HEAD wherever it answers GET.
                methods.push("HEAD".into());
            }
            (segments, methods.join(", "))
        })
        .collect()
}

/// Middleware adding `Allow` to `405` answers on the document's paths.
pub struct AllowHeader {
    allow: BTreeMap<usize, Vec<(Vec<String>, HeaderValue)>>,
}

impl AllowHeader {
    pub fn new(doc: &Value) -> Self {
        let mut allow: BTreeMap<usize, Vec<_>> = BTreeMap::new();
        for (segments, methods) in methods_by_path(doc) {
            if let Ok(value) = HeaderValue::from_str(&methods) {
                allow
                    .entry(segments.len())
                    .or_default()
                    .push((segments, value));
            }
        }
        AllowHeader { allow }
    }
}

impl<E: Endpoint> Middleware<E> for AllowHeader {
    type Output = AllowHeaderEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        AllowHeaderEndpoint {
            inner,
            allow: self.allow.clone(),
        }
    }
}

pub struct AllowHeaderEndpoint<E> {
    inner: E,
    allow: BTreeMap<usize, Vec<(Vec<String>, HeaderValue)>>,
}

impl<E> AllowHeaderEndpoint<E> {
    /// The `Allow` value of the template `path` matches (`{…}` matches any segment).
    fn allow_for(&self, path: &str) -> Option<HeaderValue> {
        let segments: Vec<&str> = path.split('/').collect();
        let candidates = self.allow.get(&segments.len())?;
        let matches = |template: &[String]| {
            template
                .iter()
                .zip(&segments)
                .all(|(t, s)| (t.starts_with('{') && t.ends_with('}') && !s.is_empty()) || t == s)
        };
        // A literal segment beats a `{param}` (e.g. /api/ws/echo over /api/ws/{x}).
        candidates
            .iter()
            .filter(|(template, _)| matches(template))
            .min_by_key(|(template, _)| template.iter().filter(|t| t.starts_with('{')).count())
            .map(|(_, value)| value.clone())
    }
}

impl<E: Endpoint> Endpoint for AllowHeaderEndpoint<E> {
    type Output = Response;

    /// Keeps the URI (a cheap clone) rather than the request, so this layer
    /// adds little to the future every request allocates.
    fn call(&self, req: Request) -> impl Future<Output = Result<Response>> + Send {
        let uri = req.uri().clone();
        // A combinator, not an `async` block: a block would hold the inner
        // future twice (captured, then awaited), doubling its size.
        self.inner.call(req).map(move |answer| {
            let mut resp = answer?.into_response();
            if resp.status() == StatusCode::METHOD_NOT_ALLOWED
                && !resp.headers().contains_key(header::ALLOW)
                && let Some(allow) = self.allow_for(uri.path())
            {
                resp.headers_mut().insert(header::ALLOW, allow);
            }
            Ok(resp)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sized_integers_get_their_range_and_explicit_bounds_stay() {
        let mut doc = json!({
            "a": {"type": "integer", "format": "uint64"},
            "b": {"type": "integer", "format": "uint32", "minimum": 1.0, "maximum": 1000.0},
            "c": [{"type": "integer", "format": "int8"}],
            "d": {"type": "string", "format": "uint64"}
        });
        integer_ranges(&mut doc);
        assert_eq!(doc["a"]["minimum"], 0);
        assert_eq!(doc["a"]["maximum"], u64::MAX);
        assert_eq!(doc["b"]["minimum"], 1.0);
        assert_eq!(doc["b"]["maximum"], 1000.0);
        assert_eq!(doc["c"][0]["minimum"], -128);
        assert!(doc["d"].get("minimum").is_none());
    }

    #[test]
    fn allow_lists_the_documented_methods_of_the_matching_path() {
        let doc = json!({"paths": {
            "/api/feeds/{name}": {"patch": {}},
            "/api/traffic": {"get": {}, "delete": {}},
            "/api/ws/echo": {"get": {}},
        }});
        let ep = AllowHeader::new(&doc).transform(poem::endpoint::make_sync(|_| ()));
        assert_eq!(ep.allow_for("/api/feeds/ticker").unwrap(), "PATCH");
        assert_eq!(ep.allow_for("/api/traffic").unwrap(), "DELETE, GET, HEAD");
        assert_eq!(ep.allow_for("/api/ws/echo").unwrap(), "GET, HEAD");
        assert!(ep.allow_for("/api/nothing").is_none());
    }
}
