//! Certificates for test servers that speak TLS: a throwaway certificate authority, a server
//! certificate for the loopback names, and client certificates, all made in the test process
//! and written as PEM (the format ZooKeeper 3.8 reads as a key store and trust store).
//!
//! Nothing here is meant for production: the keys are fresh per [`TestingTls`], unencrypted, and
//! live in the server's temporary directory.

use std::fs;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

use super::TestingError;

/// The names a test server's certificate is valid for by default.
const LOOPBACK_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// A certificate in PEM with its private key (PKCS#8 PEM).
///
/// ```
/// # fn main() -> Result<(), zkcluster::testing::TestingError> {
/// let tls = zkcluster::testing::TestingTls::generate()?;
/// let client = tls.client_certificate("alice")?;
/// assert!(client.cert_pem.contains("BEGIN CERTIFICATE"));
/// assert!(client.key_pem.contains("PRIVATE KEY"));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct TestingCertificate {
    /// The certificate, PEM.
    pub cert_pem: String,
    /// Its private key, PKCS#8 PEM, unencrypted.
    pub key_pem: String,
}

impl TestingCertificate {
    /// Writes `NAME.crt` and `NAME.key` into `dir` and returns their paths, for clients that
    /// take files (Kazoo's `certfile`/`keyfile`, a `ClientBuilder` reading PEM files).
    ///
    /// ```
    /// # fn main() -> Result<(), zkcluster::testing::TestingError> {
    /// let tls = zkcluster::testing::TestingTls::generate()?;
    /// let dir = std::env::temp_dir();
    /// let (cert, key) = tls.client_certificate("bob")?.write_to(&dir, "bob")?;
    /// assert!(cert.ends_with("bob.crt") && key.ends_with("bob.key"));
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// [`TestingError::Io`] when a file cannot be written.
    pub fn write_to(&self, dir: &Path, name: &str) -> Result<(PathBuf, PathBuf), TestingError> {
        let cert = dir.join(format!("{name}.crt"));
        let key = dir.join(format!("{name}.key"));
        write(&cert, &self.cert_pem)?;
        write(&key, &self.key_pem)?;
        Ok((cert, key))
    }
}

/// A test certificate authority and the server certificate it signed; hand it to
/// [`TestingServerBuilder::tls`](super::TestingServerBuilder::tls) to give a server a TLS port,
/// and use [`ca_pem`](Self::ca_pem) and [`client_certificate`](Self::client_certificate) on the
/// client side.
///
/// ```no_run
/// use zkcluster::testing::{TestingServer, TestingTls};
///
/// # fn main() -> Result<(), zkcluster::testing::TestingError> {
/// let tls = TestingTls::generate()?;
/// let server = TestingServer::builder().tls(&tls).start()?;
/// println!("TLS clients connect to {}", server.tls_connect_string().unwrap());
/// let trust_this = tls.ca_pem();            // the client's CA bundle
/// let me = tls.client_certificate("crawler-1")?; // subject CN=crawler-1 (the x509 ACL id)
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct TestingTls {
    ca_pem: String,
    ca_params: CertificateParams,
    ca_key: KeyPair,
    server: TestingCertificate,
}

impl TestingTls {
    /// A new CA and a server certificate for `localhost`, `127.0.0.1` and `::1`, valid now.
    ///
    /// ```
    /// # fn main() -> Result<(), zkcluster::testing::TestingError> {
    /// let tls = zkcluster::testing::TestingTls::generate()?;
    /// assert!(tls.ca_pem().contains("BEGIN CERTIFICATE"));
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// [`TestingError::InvalidSetup`] if a key or certificate cannot be made.
    pub fn generate() -> Result<TestingTls, TestingError> {
        TestingTls::with_server_names(&LOOPBACK_NAMES, false)
    }

    /// Like [`generate`](Self::generate), but the server certificate names only `names` and, when
    /// `expired`, expired years ago: for tests of a client that must refuse such a server.
    ///
    /// ```
    /// # fn main() -> Result<(), zkcluster::testing::TestingError> {
    /// let wrong_name = zkcluster::testing::TestingTls::with_server_names(&["zk.example"], false)?;
    /// let expired = zkcluster::testing::TestingTls::with_server_names(&["127.0.0.1"], true)?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// [`TestingError::InvalidSetup`] if a key or certificate cannot be made.
    pub fn with_server_names(names: &[&str], expired: bool) -> Result<TestingTls, TestingError> {
        let ca_key = KeyPair::generate().map_err(cert_error)?;
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(cert_error)?;
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.distinguished_name.push(DnType::CommonName, "zkcluster test CA");
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_pem = ca_params.self_signed(&ca_key).map_err(cert_error)?.pem();

        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = CertificateParams::new(names).map_err(cert_error)?;
        params.distinguished_name.push(DnType::CommonName, "zkcluster test server");
        // ZooKeeper's TLS context uses the server's key store for its own (server) side and,
        // in a quorum, for connections it opens: allow both uses.
        params.extended_key_usages =
            vec![ExtendedKeyUsagePurpose::ServerAuth, ExtendedKeyUsagePurpose::ClientAuth];
        if expired {
            params.not_before = rcgen::date_time_ymd(2000, 1, 1);
            params.not_after = rcgen::date_time_ymd(2001, 1, 1);
        }
        let mut tls = TestingTls {
            ca_pem,
            ca_params,
            ca_key,
            server: TestingCertificate { cert_pem: String::new(), key_pem: String::new() },
        };
        tls.server = tls.sign(params)?;
        Ok(tls)
    }

    /// The CA certificate (PEM): what a client trusts to accept the server, and what the server
    /// trusts to accept client certificates.
    ///
    /// ```
    /// # fn main() -> Result<(), zkcluster::testing::TestingError> {
    /// let tls = zkcluster::testing::TestingTls::generate()?;
    /// assert!(tls.ca_pem().starts_with("-----BEGIN CERTIFICATE-----"));
    /// # Ok(())
    /// # }
    /// ```
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// The server's certificate and key.
    ///
    /// ```
    /// # fn main() -> Result<(), zkcluster::testing::TestingError> {
    /// let tls = zkcluster::testing::TestingTls::generate()?;
    /// assert!(tls.server_certificate().key_pem.contains("PRIVATE KEY"));
    /// # Ok(())
    /// # }
    /// ```
    pub fn server_certificate(&self) -> &TestingCertificate {
        &self.server
    }

    /// A client certificate signed by this CA, with subject `CN=<common_name>`; ZooKeeper's
    /// `x509` scheme then authenticates the client as `CN=<common_name>`.
    ///
    /// ```
    /// # fn main() -> Result<(), zkcluster::testing::TestingError> {
    /// let tls = zkcluster::testing::TestingTls::generate()?;
    /// let alice = tls.client_certificate("alice")?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// [`TestingError::InvalidSetup`] if the key or certificate cannot be made.
    pub fn client_certificate(
        &self,
        common_name: &str,
    ) -> Result<TestingCertificate, TestingError> {
        let mut params = CertificateParams::new(Vec::<String>::new()).map_err(cert_error)?;
        params.distinguished_name.push(DnType::CommonName, common_name);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        self.sign(params)
    }

    fn sign(&self, params: CertificateParams) -> Result<TestingCertificate, TestingError> {
        let key = KeyPair::generate().map_err(cert_error)?;
        let issuer = Issuer::from_params(&self.ca_params, &self.ca_key);
        let cert = params.signed_by(&key, &issuer).map_err(cert_error)?;
        Ok(TestingCertificate { cert_pem: cert.pem(), key_pem: key.serialize_pem() })
    }
}

fn write(path: &Path, text: &str) -> Result<(), TestingError> {
    fs::write(path, text).map_err(|e| TestingError::io(format!("writing {}", path.display()), e))
}

fn cert_error(e: rcgen::Error) -> TestingError {
    TestingError::InvalidSetup { what: format!("making a test certificate: {e}") }
}
