//! The transport of the HTTP drivers (ClickHouse today; Snowflake and Databricks speak HTTP
//! too): one keep-alive HTTP/1.1 connection to one server, plain or TLS (rustls on ring, the
//! provider sqlx uses, with the webpki roots or a CA file of the user's), opened again when
//! the server closed it between requests. Requests are sent one at a time, as a session's
//! statements are. No SQL here, and nothing printed.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// Where the server is and how to reach it.
#[derive(Clone)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
    /// TLS, with this configuration; `None` for plain HTTP.
    pub tls: Option<Arc<rustls::ClientConfig>>,
    /// How long a TCP connect (and TLS handshake) may take.
    pub connect_timeout: Duration,
}

impl Endpoint {
    /// `http://host:port` or `https://host:port`, for messages (never credentials).
    #[must_use]
    pub fn origin(&self) -> String {
        format!(
            "{}://{}:{}",
            if self.tls.is_some() { "https" } else { "http" },
            self.host,
            self.port
        )
    }
}

impl Endpoint {
    /// The endpoint at `host` as the URL's query says, in the Python connectors' names:
    /// `protocol=https` (the default) or `http` (only `local` uses it: a local emulator, a
    /// test server), `port=` (else `url_port`, else 443 or 80), `ca_cert=` for TLS; 30 s to
    /// connect.
    ///
    /// # Errors
    /// An unknown protocol, a port that is not a number, an unreadable CA file.
    pub fn from_query(
        url: &crate::url::DatabaseUrl,
        host: String,
        url_port: Option<u16>,
        local: &str,
    ) -> Result<Endpoint, String> {
        let https = match url.param("protocol") {
            None => true,
            Some(p) if p.eq_ignore_ascii_case("https") => true,
            Some(p) if p.eq_ignore_ascii_case("http") => false,
            Some(p) => return Err(format!("protocol={p}: use https (or http for {local})")),
        };
        let port = match url.param("port") {
            Some(p) => p
                .parse()
                .map_err(|_| format!("port={p}: give a port number"))?,
            None => url_port.unwrap_or(if https { 443 } else { 80 }),
        };
        let tls = if https {
            Some(tls_config(url.param("ca_cert"))?)
        } else {
            None
        };
        Ok(Endpoint {
            host,
            port,
            tls,
            connect_timeout: Duration::from_secs(30),
        })
    }
}

/// A TLS configuration trusting the webpki roots, or only the PEM certificates of
/// `ca_file` when given.
///
/// # Errors
/// The CA file cannot be read or holds no certificate.
pub fn tls_config(ca_file: Option<&str>) -> Result<Arc<rustls::ClientConfig>, String> {
    use rustls_pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    match ca_file {
        Some(path) => {
            let certs = rustls_pki_types::CertificateDer::pem_file_iter(path)
                .map_err(|e| format!("cannot read the CA file {path}: {e}"))?;
            for cert in certs {
                let cert = cert.map_err(|e| format!("bad certificate in {path}: {e}"))?;
                roots
                    .add(cert)
                    .map_err(|e| format!("bad certificate in {path}: {e}"))?;
            }
            if roots.is_empty() {
                return Err(format!("the CA file {path} holds no certificate"));
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(Arc::new(config))
}

/// A failure of the transport itself (no HTTP answer).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct TransportError {
    pub message: String,
    /// Nothing was sent: the server could not be reached (refused, unresolved, timed out).
    /// Waiting may cure it.
    pub unreachable: bool,
    /// The TLS handshake failed on the certificate (not trusted, wrong name): waiting will
    /// not cure it; the client needs the server's CA.
    pub certificate: bool,
}

/// An HTTP answer, read whole.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: hyper::HeaderMap,
    pub body: Bytes,
}

impl Response {
    /// A header's value as text.
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// How long a connection may sit idle before it is opened again rather than reused: servers
/// close idle keep-alive connections (ClickHouse after 3 s by default), and a request sent just
/// as the server closes would fail without a way to tell whether it ran.
const MAX_IDLE: Duration = Duration::from_secs(2);

/// One connection to an endpoint.
pub struct Connection {
    endpoint: Endpoint,
    sender: Option<SendRequest<Full<Bytes>>>,
    /// When the last answer was read.
    last_used: std::time::Instant,
}

impl Connection {
    /// Open a connection.
    ///
    /// # Errors
    /// The server cannot be reached.
    pub async fn open(endpoint: Endpoint) -> Result<Connection, TransportError> {
        let mut c = Connection {
            endpoint,
            sender: None,
            last_used: std::time::Instant::now(),
        };
        c.sender = Some(c.handshake().await?);
        Ok(c)
    }

    #[must_use]
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    async fn handshake(&self) -> Result<SendRequest<Full<Bytes>>, TransportError> {
        let ep = &self.endpoint;
        let unreachable = |message: String| TransportError {
            message,
            unreachable: true,
            certificate: false,
        };
        let connect = async {
            let tcp = TcpStream::connect((ep.host.as_str(), ep.port))
                .await
                .map_err(|e| unreachable(format!("cannot connect to {}: {e}", ep.origin())))?;
            let _ = tcp.set_nodelay(true);
            match &ep.tls {
                None => handshake_on(tcp).await,
                Some(config) => {
                    let name = rustls_pki_types::ServerName::try_from(ep.host.clone())
                        .map_err(|e| unreachable(format!("bad host name {}: {e}", ep.host)))?;
                    let tls = tokio_rustls::TlsConnector::from(Arc::clone(config))
                        .connect(name, tcp)
                        .await
                        .map_err(|e| {
                            // A refused certificate does not cure itself by waiting.
                            let refused = e
                                .get_ref()
                                .and_then(|i| i.downcast_ref::<rustls::Error>())
                                .is_some_and(|r| {
                                    matches!(
                                        r,
                                        rustls::Error::InvalidCertificate(_)
                                            | rustls::Error::AlertReceived(_)
                                    )
                                });
                            TransportError {
                                message: format!("TLS with {} failed: {e}", ep.origin()),
                                unreachable: !refused,
                                certificate: refused,
                            }
                        })?;
                    handshake_on(tls).await
                }
            }
        };
        tokio::time::timeout(ep.connect_timeout, connect)
            .await
            .map_err(|_| {
                unreachable(format!(
                    "cannot connect to {}: no answer in {} s",
                    ep.origin(),
                    ep.connect_timeout.as_secs()
                ))
            })?
    }

    /// Send one request and read the whole answer. A connection the server closed, or that
    /// sat idle long enough for the server to close it, is opened again first.
    ///
    /// # Errors
    /// The server cannot be reached, or the connection broke during the exchange.
    pub async fn send(
        &mut self,
        req: hyper::Request<Full<Bytes>>,
    ) -> Result<Response, TransportError> {
        let fresh = self.last_used.elapsed() < MAX_IDLE;
        let ready = match self.sender.as_mut() {
            Some(s) if fresh => s.ready().await.is_ok(),
            _ => false,
        };
        if !ready {
            self.sender = None;
            self.sender = Some(self.handshake().await?);
        }
        let sender = self.sender.as_mut().expect("a connection was just opened");
        let broken = |e: &dyn std::fmt::Display| TransportError {
            message: format!("the connection to {} broke: {e}", self.endpoint.origin()),
            unreachable: false,
            certificate: false,
        };
        let resp = match sender.send_request(req).await {
            Ok(r) => r,
            Err(e) => {
                self.sender = None;
                return Err(broken(&e));
            }
        };
        let (parts, body) = resp.into_parts();
        let body = match body.collect().await {
            Ok(b) => b.to_bytes(),
            Err(e) => {
                self.sender = None;
                return Err(broken(&e));
            }
        };
        self.last_used = std::time::Instant::now();
        Ok(Response {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body,
        })
    }
}

async fn handshake_on<S>(stream: S) -> Result<SendRequest<Full<Bytes>>, TransportError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static,
{
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| TransportError {
            message: format!("HTTP handshake failed: {e}"),
            unreachable: true,
            certificate: false,
        })?;
    // The connection's I/O runs beside the requests; it ends when the sender is dropped.
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

/// Send `req` on a connection of its own, from a thread of its own, and do not wait for the
/// answer: how a driver asks the server to stop the statement its own connection is waiting
/// on (Ctrl-C), whatever that connection is doing.
pub fn send_detached(endpoint: Endpoint, req: hyper::Request<Full<Bytes>>) {
    std::thread::spawn(move || {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        rt.block_on(async move {
            if let Ok(mut conn) = Connection::open(endpoint).await {
                let _ = conn.send(req).await;
            }
        });
    });
}
