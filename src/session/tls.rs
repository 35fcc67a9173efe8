//! TLS to ZooKeeper's `secureClientPort`, with rustls: the options users give
//! ([`TlsConfig`]), and the handshake over an already connected TCP stream, bounded by a
//! deadline. After the handshake the connection's stream is split in two (`stream.rs`).
//!
//! The server's certificate is checked against the CA bundle the user names (never the
//! system's roots: a ZooKeeper ensemble has its own CA) and against the host name or IP address
//! the connect string used. A client certificate, when given, is what the server's `x509`
//! authentication provider maps to the session's identity (`x509:CN=...`).

use std::io;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, RootCertStore, StreamOwned};

/// A TLS session over a TCP connection.
pub(crate) type TlsStream = StreamOwned<ClientConnection, TcpStream>;

/// PEM bytes, or the file to read them from when the client is built.
#[derive(Debug, Clone)]
enum Pem {
    Bytes(Vec<u8>),
    File(PathBuf),
}

impl Pem {
    fn load(&self, what: &str) -> Result<Vec<u8>, String> {
        match self {
            Pem::Bytes(bytes) => Ok(bytes.clone()),
            Pem::File(path) => std::fs::read(path)
                .map_err(|e| format!("cannot read the {what} file {}: {e}", path.display())),
        }
    }
}

/// How the client speaks TLS to the ensemble: the CA bundle that signed the servers'
/// certificates, optionally a client certificate and key, all PEM. Give it to
/// [`ClientBuilder::tls`](crate::ClientBuilder::tls); files are read when the client connects.
///
/// ```
/// use zkcluster::TlsConfig;
///
/// let tls = TlsConfig::new()
///     .ca_pem_file("/etc/zookeeper/ca.pem")
///     .client_certificate_pem_files("/etc/crawler/client.crt", "/etc/crawler/client.key");
/// ```
#[derive(Debug, Clone, Default)]
pub struct TlsConfig {
    ca: Vec<Pem>,
    client: Option<(Pem, Pem)>,
    skip_name_verification: bool,
}

impl TlsConfig {
    /// No CA yet: add one with [`ca_pem`](Self::ca_pem) or [`ca_pem_file`](Self::ca_pem_file).
    ///
    /// ```
    /// let tls = zkcluster::TlsConfig::new().ca_pem(b"-----BEGIN CERTIFICATE-----...".to_vec());
    /// ```
    pub fn new() -> TlsConfig {
        TlsConfig::default()
    }

    /// Trusts the CA certificates in these PEM bytes (one or more certificates).
    ///
    /// ```
    /// let tls = zkcluster::TlsConfig::new().ca_pem(std::fs::read("ca.pem").unwrap_or_default());
    /// ```
    pub fn ca_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.ca.push(Pem::Bytes(pem.into()));
        self
    }

    /// Trusts the CA certificates in this PEM file (read when the client is built).
    ///
    /// ```
    /// let tls = zkcluster::TlsConfig::new().ca_pem_file("/etc/zookeeper/ca.pem");
    /// ```
    pub fn ca_pem_file(mut self, path: impl AsRef<Path>) -> Self {
        self.ca.push(Pem::File(path.as_ref().to_path_buf()));
        self
    }

    /// Presents this certificate chain and private key (PKCS#8, PKCS#1 or SEC1 PEM) to the
    /// server.
    ///
    /// ```
    /// let tls = zkcluster::TlsConfig::new().client_certificate_pem(b"cert".to_vec(), b"key".to_vec());
    /// ```
    pub fn client_certificate_pem(
        mut self,
        cert_chain: impl Into<Vec<u8>>,
        key: impl Into<Vec<u8>>,
    ) -> Self {
        self.client = Some((Pem::Bytes(cert_chain.into()), Pem::Bytes(key.into())));
        self
    }

    /// [`client_certificate_pem`](Self::client_certificate_pem) from files (read when the client
    /// is built).
    ///
    /// ```
    /// let tls = zkcluster::TlsConfig::new().client_certificate_pem_files("me.crt", "me.key");
    /// ```
    pub fn client_certificate_pem_files(
        mut self,
        cert_chain: impl AsRef<Path>,
        key: impl AsRef<Path>,
    ) -> Self {
        self.client = Some((
            Pem::File(cert_chain.as_ref().to_path_buf()),
            Pem::File(key.as_ref().to_path_buf()),
        ));
        self
    }

    /// **Dangerous**: accepts a server certificate signed by the CA whatever name it is for.
    /// Any holder of any certificate from that CA can then pose as the ensemble. Only for test
    /// setups whose certificates do not name the addresses clients use.
    ///
    /// ```
    /// let tls = zkcluster::TlsConfig::new()
    ///     .ca_pem_file("test-ca.pem")
    ///     .dangerous_skip_server_name_verification();
    /// ```
    pub fn dangerous_skip_server_name_verification(mut self) -> Self {
        self.skip_name_verification = true;
        self
    }

    /// Builds rustls' configuration; the error says which part is wrong.
    pub(crate) fn build(&self) -> Result<Arc<ClientConfig>, String> {
        if self.ca.is_empty() {
            return Err("no CA certificate: add one with TlsConfig::ca_pem or ca_pem_file".into());
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = RootCertStore::empty();
        for ca in &self.ca {
            let pem = ca.load("CA")?;
            let mut found = 0;
            for cert in CertificateDer::pem_slice_iter(&pem) {
                let cert = cert.map_err(|e| format!("the CA bundle is not valid PEM: {e}"))?;
                roots.add(cert).map_err(|e| format!("a CA certificate is not usable: {e}"))?;
                found += 1;
            }
            if found == 0 {
                return Err("the CA bundle holds no certificate".into());
            }
        }
        let roots = Arc::new(roots);
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS versions: {e}"))?;
        let builder = if self.skip_name_verification {
            let inner =
                rustls::client::WebPkiServerVerifier::builder_with_provider(roots, provider)
                    .build()
                    .map_err(|e| format!("certificate verifier: {e}"))?;
            builder.dangerous().with_custom_certificate_verifier(Arc::new(AnyName { inner }))
        } else {
            builder.with_root_certificates(roots)
        };
        let config = match &self.client {
            None => builder.with_no_client_auth(),
            Some((chain, key)) => {
                let chain_pem = chain.load("client certificate")?;
                let chain: Vec<CertificateDer<'static>> =
                    CertificateDer::pem_slice_iter(&chain_pem)
                        .collect::<Result<_, _>>()
                        .map_err(|e| format!("the client certificate is not valid PEM: {e}"))?;
                if chain.is_empty() {
                    return Err("the client certificate file holds no certificate".into());
                }
                let key = PrivateKeyDer::from_pem_slice(&key.load("client key")?)
                    .map_err(|e| format!("the client key is not a PEM private key: {e}"))?;
                builder
                    .with_client_auth_cert(chain, key)
                    .map_err(|e| format!("the client certificate and key do not fit: {e}"))?
            }
        };
        Ok(Arc::new(config))
    }
}

/// Verifies the chain up to the CA but not the name (see
/// [`TlsConfig::dangerous_skip_server_name_verification`]).
#[derive(Debug)]
struct AnyName {
    inner: Arc<rustls::client::WebPkiServerVerifier>,
}

impl ServerCertVerifier for AnyName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.inner.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
            Err(rustls::Error::InvalidCertificate(rustls::CertificateError::NotValidForName))
            | Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// Runs the TLS handshake over `tcp` for `host` (a DNS name or an IP address, as in the connect
/// string), giving up at `deadline`. The stream's read and write timeouts are left as the
/// handshake needed them; the caller sets its own.
pub(crate) fn handshake(
    config: &Arc<ClientConfig>,
    tcp: TcpStream,
    host: &str,
    deadline: Instant,
) -> io::Result<TlsStream> {
    let name = ServerName::try_from(host.to_string()).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{host:?} is not a TLS server name: {e}"),
        )
    })?;
    let conn = ClientConnection::new(config.clone(), name)
        .map_err(|e| io::Error::other(format!("TLS setup: {e}")))?;
    let mut stream = StreamOwned::new(conn, tcp);
    while stream.conn.is_handshaking() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(io::ErrorKind::TimedOut, "TLS handshake timed out"));
        }
        let left = left.max(Duration::from_millis(1));
        stream.sock.set_read_timeout(Some(left))?;
        stream.sock.set_write_timeout(Some(left))?;
        match stream.conn.complete_io(&mut stream.sock) {
            Ok(_) => {}
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                return Err(io::Error::new(io::ErrorKind::TimedOut, "TLS handshake timed out"));
            }
            Err(e) => {
                let why = explain(&e, host);
                return Err(io::Error::new(e.kind(), format!("TLS handshake: {why}")));
            }
        }
    }
    log::debug!(
        "TLS with {host}: {:?}, {:?}",
        stream.conn.protocol_version(),
        stream.conn.negotiated_cipher_suite().map(|s| s.suite())
    );
    Ok(stream)
}

/// What a failed handshake means, in words a user can act on (rustls' own text in brackets).
fn explain(e: &io::Error, name: &str) -> String {
    use rustls::CertificateError as Cert;
    let Some(tls) = e.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()) else {
        return match e.kind() {
            io::ErrorKind::UnexpectedEof
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted => format!(
                "the server hung up during the handshake; is this its TLS port \
                 (secureClientPort)? ({e})"
            ),
            _ => e.to_string(),
        };
    };
    let why = match tls {
        rustls::Error::InvalidCertificate(Cert::UnknownIssuer | Cert::BadSignature) => {
            "the server's certificate is not signed by a CA of the TLS configuration".to_string()
        }
        rustls::Error::InvalidCertificate(Cert::Expired | Cert::ExpiredContext { .. }) => {
            "the server's certificate has expired".to_string()
        }
        rustls::Error::InvalidCertificate(Cert::NotValidYet | Cert::NotValidYetContext { .. }) => {
            "the server's certificate is not valid yet".to_string()
        }
        rustls::Error::InvalidCertificate(
            Cert::NotValidForName | Cert::NotValidForNameContext { .. },
        ) => format!(
            "the server's certificate is not for {name:?}: connect with a name it lists (or, \
             for test setups only, TlsConfig::dangerous_skip_server_name_verification)"
        ),
        rustls::Error::AlertReceived(alert) => {
            format!("the server refused the handshake ({alert:?}); does it trust our certificate?")
        }
        rustls::Error::InvalidMessage(_) | rustls::Error::InappropriateMessage { .. } => {
            "the server does not speak TLS on this port".to_string()
        }
        _ => return tls.to_string(),
    };
    format!("{why} ({tls})")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configuration_errors_say_what_is_wrong() {
        let err = TlsConfig::new().build().unwrap_err();
        assert!(err.contains("no CA"), "{err}");
        let err = TlsConfig::new().ca_pem(b"not pem".to_vec()).build().unwrap_err();
        assert!(err.contains("no certificate"), "{err}");
        let err = TlsConfig::new().ca_pem_file("/nonexistent/ca.pem").build().unwrap_err();
        assert!(err.contains("/nonexistent/ca.pem"), "{err}");
    }
}

/// The handshake against a real server's TLS port (the kit's certificates), followed by a
/// ZooKeeper session handshake over it.
#[cfg(all(test, feature = "testing"))]
mod server_tests {
    use std::io::{Read, Write};

    use super::*;
    use crate::proto::jute::{Decode, Encode, Reader, Writer};
    use crate::proto::{ConnectRequest, ConnectResponse};
    use crate::testing::{TestingServer, TestingTls};

    // Generous: CI machines are small and the JVM's first TLS handshake is slow.
    const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

    fn tls_port(server: &TestingServer) -> String {
        server.tls_connect_string().expect("TLS port")
    }

    /// TLS handshake, then ZooKeeper's connect handshake; the granted session id.
    fn open_session(config: &TlsConfig, addr: &str, host: &str) -> io::Result<i64> {
        let config = config.build().map_err(io::Error::other)?;
        let tcp = TcpStream::connect(addr)?;
        let mut tls = handshake(&config, tcp, host, Instant::now() + CONNECT_TIMEOUT)?;
        let request =
            ConnectRequest { timeout_ms: 6000, passwd: vec![0; 16], ..Default::default() };
        let mut w = Writer::new();
        request.encode(&mut w);
        let body = w.into_bytes();
        tls.write_all(&(body.len() as i32).to_be_bytes())?;
        tls.write_all(&body)?;
        tls.flush()?;
        let mut len = [0u8; 4];
        tls.read_exact(&mut len)?;
        let mut reply = vec![0u8; i32::from_be_bytes(len) as usize];
        tls.read_exact(&mut reply)?;
        let response = ConnectResponse::decode(&mut Reader::new(&reply))
            .map_err(|e| io::Error::other(e.to_string()))?;
        Ok(response.session_id)
    }

    #[test]
    fn a_verifying_client_gets_a_session_over_tls() {
        let tls = TestingTls::generate().unwrap();
        let server = TestingServer::builder().tls(&tls).start().unwrap();
        let me = tls.client_certificate("crawler-1").unwrap();
        let config = TlsConfig::new()
            .ca_pem(tls.ca_pem())
            .client_certificate_pem(me.cert_pem.clone(), me.key_pem.clone());
        let session = open_session(&config, &tls_port(&server), "127.0.0.1").unwrap();
        assert_ne!(session, 0);
        // The name is checked: "localhost" is on the certificate too.
        assert_ne!(open_session(&config, &tls_port(&server), "localhost").unwrap(), 0);
    }

    #[test]
    fn wrong_ca_wrong_name_and_expired_certificates_are_refused_within_the_deadline() {
        let tls = TestingTls::generate().unwrap();
        let server = TestingServer::builder().tls(&tls).start().unwrap();
        let other = TestingTls::generate().unwrap();
        let err =
            open_session(&TlsConfig::new().ca_pem(other.ca_pem()), &tls_port(&server), "127.0.0.1")
                .unwrap_err();
        assert!(err.to_string().contains("certificate"), "{err}");

        let wrong_name = TestingTls::with_server_names(&["zk.example"], false).unwrap();
        let server2 = TestingServer::builder().tls(&wrong_name).start().unwrap();
        let trusting = TlsConfig::new().ca_pem(wrong_name.ca_pem());
        let err = open_session(&trusting, &tls_port(&server2), "127.0.0.1").unwrap_err();
        assert!(err.to_string().contains("certificate"), "{err}");
        // The loudly named opt-out accepts it (the chain is still checked).
        let lax = trusting.clone().dangerous_skip_server_name_verification();
        assert_ne!(open_session(&lax, &tls_port(&server2), "127.0.0.1").unwrap(), 0);

        let expired = TestingTls::with_server_names(&["127.0.0.1"], true).unwrap();
        let server3 = TestingServer::builder().tls(&expired).start().unwrap();
        let err = open_session(
            &TlsConfig::new().ca_pem(expired.ca_pem()).dangerous_skip_server_name_verification(),
            &tls_port(&server3),
            "127.0.0.1",
        )
        .unwrap_err();
        assert!(err.to_string().to_lowercase().contains("expired"), "{err}");
    }
}
