//! The client side of SASL GSSAPI (RFC 4752) with Kerberos, as ZooKeeper's server speaks it when
//! its JAAS `Server` section logs in with `Krb5LoginModule`. The Kerberos work is the system's
//! GSS-API library (MIT krb5, through `libgssapi`); this file only drives the SASL exchange. No
//! socket I/O: the handshake (`handshake.rs`) sends each token in a `sasl` request and feeds the
//! server's token back in, as for DIGEST-MD5.
//!
//! The exchange:
//! 1. Our first token is the Kerberos AP-REQ for the server's principal (getting a ticket from
//!    the KDC first if the credential cache has none; with a client keytab, a TGT too).
//! 2. The server answers with its AP-REP (we ask for mutual authentication, so the server proves
//!    who it is); that completes the context, and we answer with an empty token.
//! 3. The server sends its security-layer offer, wrapped: one byte of layers it accepts and three
//!    bytes of its largest message. ZooKeeper has no SASL security layer on its wire (its default
//!    quality of protection is `auth`), so we choose "none" (size 0, no authorization id: we act
//!    as the principal we authenticated as) and send that wrapped back.
//! 4. The server's empty answer ends it; from then on the session is `sasl:<principal>`.
//!
//! Credentials come from where every Kerberos program finds them: the credential cache
//! (`KRB5CCNAME`, filled by `kinit` or `k5start`), or a client keytab (`KRB5_CLIENT_KTNAME`,
//! from which the library gets tickets itself), with `KRB5_CONFIG` naming `krb5.conf`.
//!
//! Failure modes: no credentials (or a stale key: the library gets the tickets of a named
//! client principal when its credentials are acquired), an unknown server principal, a stale key or an unreachable KDC
//! fail the step with the library's own message (prefixed with what we were doing); each is an
//! authentication failure of the connection. The KDC exchanges are bounded by krb5's own
//! timeouts, not by the connect timeout: a KDC port that refuses fails at once, a silent KDC
//! costs what krb5 waits for it. A reconnect with a cached service ticket needs no KDC.

use libgssapi::context::{ClientCtx, CtxFlags, SecurityContext};
use libgssapi::credential::{Cred, CredUsage};
use libgssapi::name::Name;
use libgssapi::oid::{OidSet, GSS_MECH_KRB5, GSS_NT_HOSTBASED_SERVICE, GSS_NT_KRB5_PRINCIPAL};

use super::connect_string::host_of;
use super::sasl::{Mechanism, SaslStep};

/// ZooKeeper's default service name (`zookeeper.sasl.client.username`).
const DEFAULT_SERVICE: &str = "zookeeper";

/// RFC 4752's security-layer bits: no layer, integrity, confidentiality.
const LAYER_NONE: u8 = 1;

/// How to log in with SASL GSSAPI (Kerberos); see
/// [`ClientBuilder::sasl_gssapi`](crate::ClientBuilder::sasl_gssapi).
///
/// By default the client uses the default credentials of the process (the credential cache
/// named by `KRB5CCNAME`, or the client keytab named by `KRB5_CLIENT_KTNAME`; `KRB5_CONFIG`
/// names `krb5.conf`) and asks for the service principal `zookeeper/<host>`, where `<host>` is
/// the host of the connect string entry being connected to (krb5 canonicalizes it as its
/// `dns_canonicalize_hostname` and `rdns` settings say), like ZooKeeper's Java client and Kazoo.
///
/// ```
/// use zkcluster::GssapiConfig;
///
/// let gssapi = GssapiConfig::new()
///     .client_principal("crawler@EXAMPLE.COM")
///     .server_principal("zookeeper/zk.example.com@EXAMPLE.COM");
/// assert_eq!(gssapi.target_for("zk1.example.com"), "zookeeper/zk.example.com@EXAMPLE.COM");
/// assert_eq!(GssapiConfig::new().target_for("zk1.example.com"), "zookeeper@zk1.example.com");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GssapiConfig {
    service: String,
    server_principal: Option<String>,
    client_principal: Option<String>,
}

impl Default for GssapiConfig {
    fn default() -> Self {
        GssapiConfig::new()
    }
}

impl GssapiConfig {
    /// The defaults: the process's default Kerberos credentials, service principal
    /// `zookeeper/<host>`.
    ///
    /// ```
    /// let gssapi = zkcluster::GssapiConfig::new();
    /// assert_eq!(gssapi, zkcluster::GssapiConfig::default());
    /// ```
    pub fn new() -> GssapiConfig {
        GssapiConfig {
            service: DEFAULT_SERVICE.to_string(),
            server_principal: None,
            client_principal: None,
        }
    }

    /// The service part of the server's host-based principal (default `zookeeper`), like the
    /// Java client's `zookeeper.sasl.client.username`.
    ///
    /// ```
    /// let gssapi = zkcluster::GssapiConfig::new().service_name("zk");
    /// assert_eq!(gssapi.target_for("zk1"), "zk@zk1");
    /// ```
    pub fn service_name(mut self, service: &str) -> GssapiConfig {
        self.service = service.to_string();
        self
    }

    /// The server's whole principal (`service/host@REALM`), used for every server of the
    /// ensemble instead of the host-based name, like the Java client's
    /// `zookeeper.server.principal`.
    ///
    /// ```
    /// let gssapi = zkcluster::GssapiConfig::new().server_principal("zookeeper/zk@EXAMPLE.COM");
    /// assert_eq!(gssapi.target_for("10.0.0.7"), "zookeeper/zk@EXAMPLE.COM");
    /// ```
    pub fn server_principal(mut self, principal: &str) -> GssapiConfig {
        self.server_principal = Some(principal.to_string());
        self
    }

    /// Which of the process's Kerberos identities to log in as (an entry of the client keytab
    /// or of the credential cache collection), instead of the default one.
    ///
    /// ```
    /// let gssapi = zkcluster::GssapiConfig::new().client_principal("crawler@EXAMPLE.COM");
    /// assert_eq!(gssapi.client_principal_name(), Some("crawler@EXAMPLE.COM"));
    /// ```
    pub fn client_principal(mut self, principal: &str) -> GssapiConfig {
        self.client_principal = Some(principal.to_string());
        self
    }

    /// The client principal chosen with [`client_principal`](Self::client_principal), if any.
    ///
    /// ```
    /// assert_eq!(zkcluster::GssapiConfig::new().client_principal_name(), None);
    /// ```
    pub fn client_principal_name(&self) -> Option<&str> {
        self.client_principal.as_deref()
    }

    /// The name the client asks a ticket for when it connects to `host`: the server principal
    /// if one was set, else the host-based service name `service@host` (krb5 turns it into the
    /// principal `service/host@REALM`).
    ///
    /// ```
    /// assert_eq!(zkcluster::GssapiConfig::new().target_for("localhost"), "zookeeper@localhost");
    /// ```
    pub fn target_for(&self, host: &str) -> String {
        match &self.server_principal {
            Some(principal) => principal.clone(),
            None => format!("{}@{host}", self.service),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// The Kerberos context is being set up (AP-REQ sent, AP-REP expected).
    Establishing,
    /// The context is complete; the server's wrapped security-layer offer is next.
    Offer,
    /// Our choice is sent; the server's (empty) final answer is next.
    Final,
    Done,
}

/// One GSSAPI login to one server.
pub(crate) struct GssapiLogin {
    context: ClientCtx,
    /// Who we log in as and whom we ask for, for error messages.
    client: String,
    target: String,
    state: State,
}

impl GssapiLogin {
    /// Gets the credentials and names the server; `server` is the connect-string entry
    /// (`host:port`) being connected to.
    pub(crate) fn new(config: &GssapiConfig, server: &str) -> Result<GssapiLogin, String> {
        let target = config.target_for(host_of(server));
        let client = config
            .client_principal
            .clone()
            .unwrap_or_else(|| "the default Kerberos principal".to_string());
        let mut mechanisms =
            OidSet::new().map_err(|e| format!("GSS-API: cannot make a mechanism set: {e}"))?;
        mechanisms
            .add(&GSS_MECH_KRB5)
            .map_err(|e| format!("GSS-API: no Kerberos mechanism: {e}"))?;
        let name = match &config.client_principal {
            Some(principal) => Some(
                Name::new(principal.as_bytes(), Some(&GSS_NT_KRB5_PRINCIPAL))
                    .map_err(|e| format!("bad client principal {principal:?}: {e}"))?,
            ),
            None => None,
        };
        let credentials =
            Cred::acquire(name.as_ref(), None, CredUsage::Initiate, Some(&mechanisms)).map_err(
                |e| {
                    format!(
                        "cannot get Kerberos credentials for {client} (credential cache \
                         $KRB5CCNAME, client keytab $KRB5_CLIENT_KTNAME): {e}"
                    )
                },
            )?;
        let target_name = match &config.server_principal {
            Some(principal) => Name::new(principal.as_bytes(), Some(&GSS_NT_KRB5_PRINCIPAL)),
            None => Name::new(target.as_bytes(), Some(&GSS_NT_HOSTBASED_SERVICE)),
        }
        .map_err(|e| format!("bad server principal {target:?}: {e}"))?;
        let flags = CtxFlags::GSS_C_MUTUAL_FLAG | CtxFlags::GSS_C_SEQUENCE_FLAG;
        let context = ClientCtx::new(Some(credentials), target_name, flags, Some(&GSS_MECH_KRB5));
        Ok(GssapiLogin { context, client, target, state: State::Establishing })
    }

    fn establish(&mut self, token: Option<&[u8]>) -> Result<Vec<u8>, String> {
        let out = self.context.step(token, None).map_err(|e| {
            format!("Kerberos login of {} to {} failed: {e}", self.client, self.target)
        })?;
        if self.context.is_complete() {
            self.state = State::Offer;
        }
        Ok(out.map(|buf| buf.to_vec()).unwrap_or_default())
    }
}

impl Mechanism for GssapiLogin {
    fn name(&self) -> &'static str {
        "GSSAPI"
    }

    fn identity(&self) -> String {
        self.client.clone()
    }

    fn initial_token(&mut self) -> Result<Vec<u8>, String> {
        self.establish(None)
    }

    fn step(&mut self, token: &[u8]) -> Result<SaslStep, String> {
        match self.state {
            State::Establishing => self.establish(Some(token)).map(SaslStep::Respond),
            State::Offer => {
                let offer = self
                    .context
                    .unwrap(token)
                    .map_err(|e| format!("cannot unwrap the server's security-layer offer: {e}"))?;
                let choice = security_layer_choice(&offer)?;
                let wrapped = self
                    .context
                    .wrap(false, &choice)
                    .map_err(|e| format!("cannot wrap our security-layer choice: {e}"))?;
                self.state = State::Final;
                Ok(SaslStep::Respond(wrapped.to_vec()))
            }
            State::Final if token.is_empty() => {
                self.state = State::Done;
                Ok(SaslStep::Done)
            }
            State::Final | State::Done => {
                Err("unexpected SASL token after the exchange finished".to_string())
            }
        }
    }
}

/// Our answer to the server's (unwrapped) security-layer offer (RFC 4752 section 3.1): the
/// layer "none" with a maximum message size of 0 and no authorization id.
fn security_layer_choice(offer: &[u8]) -> Result<[u8; 4], String> {
    let &[layers, _, _, _] = offer else {
        return Err(format!("the server's security-layer offer is {} bytes, not 4", offer.len()));
    };
    if layers & LAYER_NONE == 0 {
        return Err(format!(
            "the server requires a SASL security layer (offer {layers:#04x}: integrity or \
             confidentiality, quality of protection auth-int/auth-conf); ZooKeeper clients \
             speak only auth"
        ));
    }
    Ok([LAYER_NONE, 0, 0, 0])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_takes_no_security_layer_when_the_server_offers_it() {
        // "none" and integrity offered, 64 KiB largest message.
        assert_eq!(security_layer_choice(&[0x03, 0x01, 0x00, 0x00]), Ok([1, 0, 0, 0]));
        assert_eq!(security_layer_choice(&[0x07, 0xff, 0xff, 0xff]), Ok([1, 0, 0, 0]));
    }

    #[test]
    fn a_server_requiring_a_layer_or_a_malformed_offer_is_an_error_not_a_panic() {
        let err = security_layer_choice(&[0x04, 0, 0x10, 0]).unwrap_err();
        assert!(err.contains("requires a SASL security layer"), "{err}");
        for bad in [&[][..], &[1], &[1, 0, 0], &[1, 0, 0, 0, 0]] {
            let err = security_layer_choice(bad).unwrap_err();
            assert!(err.contains("not 4"), "{bad:?}: {err}");
        }
    }

    #[test]
    fn the_target_is_host_based_unless_a_server_principal_is_set() {
        let config = GssapiConfig::new();
        assert_eq!(config.target_for("zk1.example.com"), "zookeeper@zk1.example.com");
        assert_eq!(config.clone().service_name("zk").target_for("h"), "zk@h");
        let fixed = config.server_principal("zookeeper/zk@EXAMPLE.COM");
        assert_eq!(fixed.target_for("h"), "zookeeper/zk@EXAMPLE.COM");
    }
}
