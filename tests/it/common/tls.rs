//! HTTPS test servers and clients: the server's generated certificate,
//! trusted by the test's client alone, and a proxy that ends TLS on both
//! sides so it can count the plaintext bytes between them.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::{http1, http2};
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use realtime_playground::{Config, bind};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio_rustls::{TlsAcceptor, TlsConnector};

use super::TestServer;

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A client on one TLS connection, speaking what ALPN chose (`h2` when the
/// server offers it), trusting only the certificate it is given.
pub struct TlsClient {
    sender: Sender,
    authority: String,
}

enum Sender {
    Http2(http2::SendRequest<Full<Bytes>>),
    Http1(tokio::sync::Mutex<http1::SendRequest<Full<Bytes>>>),
}

impl TlsClient {
    pub async fn connect(addr: SocketAddr, pem: &str) -> TlsClient {
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
            roots.add(cert.expect("pem")).expect("root");
        }
        let mut config = rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        let tcp = TcpStream::connect(addr).await.expect("connect");
        let name = ServerName::try_from(addr.ip().to_string()).expect("name");
        let tls = TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await
            .expect("TLS handshake");
        let h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
        let io = TokioIo::new(tls);
        let sender = if h2 {
            let (sender, conn) = http2::handshake(TokioExecutor::new(), io)
                .await
                .expect("h2 handshake");
            tokio::spawn(conn);
            Sender::Http2(sender)
        } else {
            let (sender, conn) = http1::handshake(io).await.expect("h1 handshake");
            tokio::spawn(conn);
            Sender::Http1(tokio::sync::Mutex::new(sender))
        };
        TlsClient {
            sender,
            authority: addr.to_string(),
        }
    }

    /// Sends a request as `learner`; HTTP/2 streams may run side by side.
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        learner: &str,
        body: Option<Value>,
    ) -> Response<Incoming> {
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let http2 = matches!(self.sender, Sender::Http2(_));
        let uri = if http2 {
            format!("https://{}{path}", self.authority)
        } else {
            path.to_owned()
        };
        let mut req = Request::builder()
            .method(method)
            .uri(uri)
            .header("x-learner", learner)
            .header("content-type", "application/json");
        if !http2 {
            req = req.header("host", &self.authority);
        }
        let req = req.body(Full::new(Bytes::from(body))).expect("request");
        match &self.sender {
            Sender::Http2(sender) => sender.clone().send_request(req).await,
            Sender::Http1(sender) => sender.lock().await.send_request(req).await,
        }
        .expect("response")
    }

    pub async fn get(&self, path: &str, learner: &str) -> Response<Incoming> {
        self.send("GET", path, learner, None).await
    }

    pub async fn json(&self, path: &str, learner: &str) -> Value {
        let body = self.get(path, learner).await.into_body().collect().await;
        serde_json::from_slice(&body.expect("body").to_bytes()).expect("json")
    }

    /// Publishes on `topic`; returns the new id.
    pub async fn publish(&self, topic: &str, data: Value) -> u64 {
        let event = json!({"topic": topic, "type": "test", "data": data});
        let res = self
            .send("POST", "/api/events", "publisher", Some(event))
            .await;
        assert_eq!(res.status(), 202);
        let body = res.into_body().collect().await.expect("body").to_bytes();
        let body: Value = serde_json::from_slice(&body).expect("json");
        body["id"].as_u64().expect("id")
    }
}

/// A served `--tls` server, its HTTP/1.1-only port, and its certificate.
pub struct TlsServer {
    /// Stops the server when dropped (its `http` client speaks no TLS).
    _server: TestServer,
    pub http1: SocketAddr,
    pub pem: String,
    pub addr: SocketAddr,
}

impl TlsServer {
    /// A new connection to the HTTP/2 port.
    pub async fn client(&self) -> TlsClient {
        TlsClient::connect(self.addr, &self.pem).await
    }

    /// `learner`'s traffic log entries.
    pub async fn traffic_of(&self, learner: &str) -> Vec<Value> {
        let log = self.client().await.json("/api/traffic", learner).await;
        log["entries"].as_array().expect("entries").clone()
    }

    /// Waits until the hub has exactly `n` live subscribers.
    pub async fn wait_for_subscribers(&self, n: u64) {
        let client = self.client().await;
        super::eventually(&format!("{n} subscribers"), || async {
            (client.json("/api/status", "watcher").await["subscribers"].as_u64() == Some(n))
                .then_some(())
        })
        .await
    }

    pub async fn start() -> TlsServer {
        let config = Config {
            tls: true,
            http1_port: Some(0),
            ..Config::for_tests()
        };
        let bound = bind(config).await.expect("bind");
        let addr = bound.local_addr();
        let http1 = bound.http1_addr().expect("http1 port");
        let pem = bound.certificate().expect("certificate").pem.clone();
        TlsServer {
            _server: TestServer::serving(bound),
            http1,
            pem,
            addr,
        }
    }
}

/// Bytes that passed a [`CountingProxy`] each way, in plaintext.
#[derive(Default)]
pub struct Counted {
    pub up: AtomicU64,
    pub down: AtomicU64,
}

impl Counted {
    pub fn total(&self) -> u64 {
        self.up.load(Ordering::SeqCst) + self.down.load(Ordering::SeqCst)
    }
}

/// Ends the client's TLS with its own certificate, opens TLS to the server
/// (same ALPN choice), and copies the plaintext between them, counting it.
pub struct CountingProxy {
    pub addr: SocketAddr,
    pub pem: String,
    pub counted: Arc<Counted>,
    _stop: oneshot::Sender<()>,
}

impl CountingProxy {
    pub async fn start(upstream: SocketAddr, upstream_pem: &str) -> CountingProxy {
        let own = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).expect("cert");
        let pem = own.cert.pem();
        let key =
            PrivateKeyDer::from_pem_slice(own.signing_key.serialize_pem().as_bytes()).expect("key");
        let mut server = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_no_client_auth()
            .with_single_cert(vec![own.cert.der().clone()], key)
            .expect("server config");
        server.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        let acceptor = TlsAcceptor::from(Arc::new(server));
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(upstream_pem.as_bytes()) {
            roots.add(cert.expect("pem")).expect("root");
        }
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let counted = Arc::new(Counted::default());
        let (stop, stopped) = oneshot::channel::<()>();
        let count = counted.clone();
        tokio::spawn(async move {
            let accepting = async {
                while let Ok((tcp, _)) = listener.accept().await {
                    let (acceptor, roots, count) = (acceptor.clone(), roots.clone(), count.clone());
                    tokio::spawn(async move {
                        let Ok(client) = acceptor.accept(tcp).await else {
                            return;
                        };
                        let alpn = client.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
                        let mut config = rustls::ClientConfig::builder_with_provider(provider())
                            .with_safe_default_protocol_versions()
                            .expect("versions")
                            .with_root_certificates(roots)
                            .with_no_client_auth();
                        config.alpn_protocols = alpn.into_iter().collect();
                        let connector = TlsConnector::from(Arc::new(config));
                        let Ok(tcp) = TcpStream::connect(upstream).await else {
                            return;
                        };
                        let name = ServerName::try_from("127.0.0.1").expect("name");
                        let Ok(server) = connector.connect(name, tcp).await else {
                            return;
                        };
                        relay(client, server, count).await;
                    });
                }
            };
            tokio::select! {
                _ = accepting => {}
                _ = stopped => {}
            }
        });
        CountingProxy {
            addr,
            pem,
            counted,
            _stop: stop,
        }
    }
}

async fn relay<C, S>(client: C, server: S, count: Arc<Counted>)
where
    C: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    use tokio::io::AsyncReadExt;
    let (mut client_read, mut client_write) = tokio::io::split(client);
    let (mut server_read, mut server_write) = tokio::io::split(server);
    let up = async {
        let mut buf = vec![0u8; 16 * 1024];
        while let Ok(n) = client_read.read(&mut buf).await {
            if n == 0 {
                break;
            }
            count.up.fetch_add(n as u64, Ordering::SeqCst);
            if server_write.write_all(&buf[..n]).await.is_err() {
                break;
            }
            let _ = server_write.flush().await;
        }
    };
    let down = async {
        let mut buf = vec![0u8; 16 * 1024];
        while let Ok(n) = server_read.read(&mut buf).await {
            if n == 0 {
                break;
            }
            count.down.fetch_add(n as u64, Ordering::SeqCst);
            if client_write.write_all(&buf[..n]).await.is_err() {
                break;
            }
            let _ = client_write.flush().await;
        }
    };
    tokio::join!(up, down);
}
