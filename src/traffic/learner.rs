//! Whose traffic is this? Each learner is named by the `X-Learner` header if
//! present, else by a `learner` cookie that the first answer sets. Browsers
//! send the cookie with fetch, EventSource, WebSocket handshakes and Swagger
//! UI's "Try it out", so a learner's whole session lands in one log.

use std::net::IpAddr;

use futures_util::FutureExt;
use poem::http::header;
use poem::{
    Endpoint, FromRequest, IntoResponse, Middleware, Request, RequestBody, Response, Result,
};

pub const HEADER: &str = "x-learner";
pub const COOKIE: &str = "learner";
const MAX_LEN: usize = 64;

/// The learner a request belongs to.
#[derive(Debug, Clone)]
pub struct Learner {
    pub id: std::sync::Arc<str>,
    /// The `Set-Cookie` value this answer will carry, if the learner is new.
    pub set_cookie: Option<String>,
    /// The client address the request came from: what per-learner stores
    /// count learners by (a client can rename itself, not its address).
    pub address: Option<IpAddr>,
}

fn valid(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl Learner {
    /// A learner known by `id`, asking from `address` (no cookie to set).
    pub fn new(id: impl Into<std::sync::Arc<str>>, address: Option<IpAddr>) -> Learner {
        Learner {
            id: id.into(),
            set_cookie: None,
            address,
        }
    }

    /// Reads the header, then the cookie; makes up a new id if neither is usable.
    pub fn identify(req: &Request) -> Learner {
        let address = req
            .remote_addr()
            .as_socket_addr()
            .map(|a| a.ip().to_canonical());
        let from_header = req
            .headers()
            .get(HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| valid(v));
        if let Some(id) = from_header {
            return Learner {
                id: id.into(),
                set_cookie: None,
                address,
            };
        }
        let from_cookie = req
            .headers()
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, value)| *name == COOKIE && valid(value))
            .map(|(_, value)| value);
        if let Some(id) = from_cookie {
            return Learner {
                id: id.into(),
                set_cookie: None,
                address,
            };
        }
        let id = new_id();
        let cookie = format!("{COOKIE}={id}; Path=/; Max-Age=31536000; HttpOnly; SameSite=Lax");
        Learner {
            id: id.into(),
            set_cookie: Some(cookie),
            address,
        }
    }
}

/// 128 random bits from the operating system: another client cannot guess
/// somebody's id and read their log, even when the server is reachable.
fn new_id() -> String {
    format!("l-{}", random_hex::<16>())
}

/// `N` random bytes as hex: ids nobody can guess. They come from the
/// thread's CSPRNG (ChaCha, seeded and reseeded from the operating system),
/// not a system call per id: a client without cookies gets a new id with
/// every request.
pub fn random_hex<const N: usize>() -> String {
    use rand::RngCore;
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut bytes = [0u8; N];
    rand::rng().fill_bytes(&mut bytes);
    let mut hex = String::with_capacity(2 * N);
    for b in bytes {
        hex.push(DIGITS[usize::from(b >> 4)].into());
        hex.push(DIGITS[usize::from(b & 0x0f)].into());
    }
    hex
}

impl<'a> FromRequest<'a> for Learner {
    async fn from_request(req: &'a Request, _body: &mut RequestBody) -> Result<Self> {
        Ok(req
            .extensions()
            .get::<Learner>()
            .cloned()
            .unwrap_or_else(|| Learner::identify(req)))
    }
}

/// Middleware: identifies the learner and sets the cookie on their first answer.
pub struct LearnerIdentity;

impl<E: Endpoint> Middleware<E> for LearnerIdentity {
    type Output = LearnerIdentityEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        LearnerIdentityEndpoint(ep)
    }
}

pub struct LearnerIdentityEndpoint<E>(E);

impl<E: Endpoint> Endpoint for LearnerIdentityEndpoint<E> {
    type Output = Response;

    /// The future returned holds the inner one and the cookie, not the
    /// request, so this layer adds little to the future every request allocates.
    fn call(&self, mut req: Request) -> impl Future<Output = Result<Response>> + Send {
        let learner = Learner::identify(&req);
        let cookie = learner.set_cookie.clone();
        req.extensions_mut().insert(learner);
        // A combinator, not an `async` block: a block would hold the inner
        // future twice (captured, then awaited), doubling its size.
        self.0.call(req).map(move |answer| {
            let mut resp = answer?.into_response();
            if let Some(cookie) = cookie
                && let Ok(value) = cookie.parse()
            {
                resp.headers_mut().append(header::SET_COOKIE, value);
            }
            Ok(resp)
        })
    }
}

/// Learner ids that start with this are not logged: the load lab's clients
/// (the generator measures its own run, and thousands of its entries would
/// push every learner's own traffic out of the bounded log) and the storm
/// lab's.
pub const UNLOGGED_PREFIX: &str = "load-lab-";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_wins_then_cookie_then_a_new_id() {
        let req = Request::builder()
            .header(HEADER, "alice")
            .header(header::COOKIE, "learner=bob")
            .finish();
        assert_eq!(&*Learner::identify(&req).id, "alice");

        let req = Request::builder()
            .header(header::COOKIE, "x=1; learner=bob")
            .finish();
        let l = Learner::identify(&req);
        assert_eq!((&*l.id, l.set_cookie.is_none()), ("bob", true));

        let req = Request::builder()
            .header(header::COOKIE, "learner=<script>")
            .finish();
        let l = Learner::identify(&req);
        assert!(l.id.starts_with("l-"));
        let cookie = l.set_cookie.expect("cookie");
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"));
    }

    #[test]
    fn new_ids_are_128_bit_hex_and_differ() {
        let ids: std::collections::HashSet<String> = (0..1000).map(|_| new_id()).collect();
        assert_eq!(ids.len(), 1000);
        for id in &ids {
            let hex = id.strip_prefix("l-").expect("prefix");
            assert_eq!(hex.len(), 32);
            assert!(
                hex.bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
            );
        }
    }
}
