//! The client side of SASL DIGEST-MD5 (RFC 2831) as ZooKeeper's `DigestLoginModule` speaks it:
//! a state machine that turns the server's challenges into responses. No I/O: the handshake
//! (`handshake.rs`) sends each token in a `sasl` request (opcode 102) and feeds the server's
//! token back in.
//!
//! The exchange: the client opens with an empty token; the server answers with a challenge
//! (`realm`, `nonce`, `qop`, ...); the client answers with its digest of the password; the server
//! answers with `rspauth`, its own digest, which proves it knew the password too; the client
//! checks it and is done. ZooKeeper's service name is `zookeeper` and its DIGEST-MD5 host is
//! `zk-sasl-md5`, so the digest URI is `zookeeper/zk-sasl-md5`.

use md5::{Digest, Md5};

/// ZooKeeper's DIGEST-MD5 digest URI (service `zookeeper`, host `zk-sasl-md5`).
pub const ZOOKEEPER_DIGEST_URI: &str = "zookeeper/zk-sasl-md5";

/// Why a DIGEST-MD5 exchange cannot go on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SaslError {
    /// The server's challenge lacks something the mechanism needs or is not valid text.
    #[error("malformed DIGEST-MD5 challenge: {0}")]
    Malformed(String),
    /// The server offers no quality of protection we speak (we speak `auth`).
    #[error("the server offers qop {0:?}; this client speaks only \"auth\"")]
    UnsupportedQop(String),
    /// The server's `rspauth` does not match: it does not know the password (or a
    /// man in the middle answered).
    #[error("the server's rspauth does not prove it knows the password")]
    ServerNotAuthenticated,
    /// A token arrived after the exchange had finished.
    #[error("unexpected SASL token after the exchange finished")]
    Unexpected,
}

/// What to do after feeding the server's token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SaslStep {
    /// Send this token to the server.
    Respond(Vec<u8>),
    /// The exchange is complete and both sides are authenticated.
    Done,
}

/// A SASL mechanism as the handshake drives it (DIGEST-MD5 here, GSSAPI in `gssapi.rs`).
pub(crate) trait Mechanism {
    /// The SASL name (`DIGEST-MD5`, `GSSAPI`), for error messages.
    fn name(&self) -> &'static str;
    /// Who logs in, for error messages.
    fn identity(&self) -> String;
    /// The token of the first `sasl` request.
    fn initial_token(&mut self) -> Result<Vec<u8>, String>;
    /// Feeds the server's answer; says what to send next.
    fn step(&mut self, token: &[u8]) -> Result<SaslStep, String>;
}

impl Mechanism for DigestMd5 {
    fn name(&self) -> &'static str {
        "DIGEST-MD5"
    }

    fn identity(&self) -> String {
        format!("{:?}", self.username)
    }

    fn initial_token(&mut self) -> Result<Vec<u8>, String> {
        Ok(DigestMd5::initial_token(self))
    }

    fn step(&mut self, token: &[u8]) -> Result<SaslStep, String> {
        DigestMd5::step(self, token).map_err(|e| e.to_string())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    /// Waiting for the server's challenge.
    Challenge,
    /// Sent our response; waiting for `rspauth`, which must equal this.
    RspAuth(String),
    Done,
}

/// One DIGEST-MD5 login as `username` with `password`.
#[derive(Debug, Clone)]
pub struct DigestMd5 {
    username: String,
    password: String,
    digest_uri: String,
    cnonce: String,
    state: State,
}

impl DigestMd5 {
    /// A login for ZooKeeper with a fresh random client nonce.
    pub fn new(username: &str, password: &str) -> DigestMd5 {
        let mut bytes = [0u8; 16];
        // Without an OS random source the nonce is still unique per process and time, which
        // is what the mechanism needs of it (it is not a secret).
        if getrandom::getrandom(&mut bytes).is_err() {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            bytes = (nanos ^ u128::from(std::process::id())).to_be_bytes();
        }
        DigestMd5::with_cnonce(username, password, ZOOKEEPER_DIGEST_URI, &hex(&bytes))
    }

    /// A login with a given client nonce and digest URI (for tests with known vectors).
    pub fn with_cnonce(
        username: &str,
        password: &str,
        digest_uri: &str,
        cnonce: &str,
    ) -> DigestMd5 {
        DigestMd5 {
            username: username.to_string(),
            password: password.to_string(),
            digest_uri: digest_uri.to_string(),
            cnonce: cnonce.to_string(),
            state: State::Challenge,
        }
    }

    /// The first token to send: DIGEST-MD5 has no initial response, so it is empty.
    pub fn initial_token(&self) -> Vec<u8> {
        Vec::new()
    }

    /// Whether the exchange finished with both sides authenticated.
    #[cfg(test)]
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Feeds the server's token; says what to send next.
    pub fn step(&mut self, token: &[u8]) -> Result<SaslStep, SaslError> {
        let text = std::str::from_utf8(token)
            .map_err(|_| SaslError::Malformed("not UTF-8".to_string()))?;
        let fields = parse_fields(text)?;
        match std::mem::replace(&mut self.state, State::Done) {
            State::Challenge => {
                let (response, rspauth) = self.respond(&fields)?;
                self.state = State::RspAuth(rspauth);
                Ok(SaslStep::Respond(response.into_bytes()))
            }
            State::RspAuth(expected) => {
                let got = field(&fields, "rspauth")?;
                if got != expected {
                    return Err(SaslError::ServerNotAuthenticated);
                }
                Ok(SaslStep::Done)
            }
            State::Done => Err(SaslError::Unexpected),
        }
    }

    /// Our response to a challenge, and the `rspauth` the server must then send.
    fn respond(&self, challenge: &[(String, String)]) -> Result<(String, String), SaslError> {
        let nonce = field(challenge, "nonce")?;
        // A challenge may name no realm; the realm is then empty.
        let realm = field(challenge, "realm").unwrap_or("");
        let qop = field(challenge, "qop").unwrap_or("auth");
        if !qop.split(',').any(|q| q.trim() == "auth") {
            return Err(SaslError::UnsupportedQop(qop.to_string()));
        }
        let nc = "00000001";
        // A1 = H(user:realm:password) ":" nonce ":" cnonce — the inner hash raw, not hex.
        let inner = md5(format!("{}:{realm}:{}", self.username, self.password).as_bytes());
        let mut a1 = inner.to_vec();
        a1.extend_from_slice(format!(":{nonce}:{}", self.cnonce).as_bytes());
        let ha1 = hex(&md5(&a1));
        let digest = |a2: &str| {
            let ha2 = hex(&md5(a2.as_bytes()));
            hex(&md5(format!("{ha1}:{nonce}:{nc}:{}:auth:{ha2}", self.cnonce).as_bytes()))
        };
        let response = digest(&format!("AUTHENTICATE:{}", self.digest_uri));
        let rspauth = digest(&format!(":{}", self.digest_uri));
        let text = format!(
            "charset=utf-8,username=\"{}\",realm=\"{realm}\",nonce=\"{nonce}\",nc={nc},\
             cnonce=\"{}\",digest-uri=\"{}\",maxbuf=65536,response={response},qop=auth",
            quote(&self.username),
            self.cnonce,
            self.digest_uri,
        );
        Ok((text, rspauth))
    }
}

fn md5(bytes: &[u8]) -> [u8; 16] {
    Md5::digest(bytes).into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Escapes `"` and `\` inside a quoted-string.
fn quote(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"")
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> Result<&'a str, SaslError> {
    fields
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
        .ok_or_else(|| SaslError::Malformed(format!("no {name}")))
}

/// `key=value` pairs separated by commas; values may be quoted strings with `\` escapes.
fn parse_fields(text: &str) -> Result<Vec<(String, String)>, SaslError> {
    let mut fields = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            return Ok(fields);
        }
        let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
        let key = key.trim().to_string();
        if key.is_empty() {
            return Err(SaslError::Malformed(format!("empty key in {text:?}")));
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    Some('\\') => value.extend(chars.next()),
                    Some('"') => break,
                    Some(c) => value.push(c),
                    None => return Err(SaslError::Malformed(format!("unterminated {key}"))),
                }
            }
        } else {
            while let Some(c) = chars.peek().copied() {
                if c == ',' {
                    break;
                }
                value.push(c);
                chars.next();
            }
            value = value.trim().to_string();
        }
        fields.push((key, value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 2831 section 4's example exchange (IMAP, user chris, password secret).
    #[test]
    fn rfc_2831_example_vector() {
        let mut login =
            DigestMd5::with_cnonce("chris", "secret", "imap/elwood.innosoft.com", "OA6MHXh6VqTrRk");
        let challenge = br#"realm="elwood.innosoft.com",nonce="OA6MG9tEQGm2hh",qop="auth",algorithm=md5-sess,charset=utf-8"#;
        let SaslStep::Respond(response) = login.step(challenge).unwrap() else {
            panic!("expected a response")
        };
        let response = String::from_utf8(response).unwrap();
        assert!(response.contains("response=d388dad90d4bbd760a152321f2143af7"), "{response}");
        assert!(response.contains("nc=00000001") && response.contains("qop=auth"));
        assert!(!login.is_done());
        assert_eq!(login.step(b"rspauth=ea40f60335c427b5527b84dbabcdfffd"), Ok(SaslStep::Done));
        assert!(login.is_done());
        assert_eq!(login.step(b"rspauth=x"), Err(SaslError::Unexpected));
    }

    #[test]
    fn a_wrong_rspauth_means_the_server_does_not_know_the_password() {
        let mut login = DigestMd5::new("bob", "pw");
        assert!(login.initial_token().is_empty());
        assert!(matches!(login.step(br#"nonce="n",qop="auth""#), Ok(SaslStep::Respond(_))));
        assert_eq!(
            login.step(b"rspauth=00000000000000000000000000000000"),
            Err(SaslError::ServerNotAuthenticated)
        );
    }

    #[test]
    fn malformed_or_unsupported_challenges_are_errors_not_panics() {
        for bad in [&b"realm=\"x\""[..], b"nonce=\"unterminated", b"=x", b"\xff\xfe"] {
            let err = DigestMd5::new("u", "p").step(bad).unwrap_err();
            assert!(matches!(err, SaslError::Malformed(_)), "{bad:?}: {err}");
        }
        let err = DigestMd5::new("u", "p").step(br#"nonce="n",qop="auth-conf""#).unwrap_err();
        assert_eq!(err, SaslError::UnsupportedQop("auth-conf".to_string()));
    }

    #[test]
    fn quoted_values_keep_commas_and_escapes() {
        let fields = parse_fields(r#"realm="a,b",nonce="x\"y", qop=auth"#).unwrap();
        assert_eq!(fields[0], ("realm".to_string(), "a,b".to_string()));
        assert_eq!(fields[1].1, "x\"y");
        assert_eq!(fields[2].1, "auth");
    }
}
