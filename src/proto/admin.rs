//! Records of the ensemble-administration operations: dynamic reconfiguration and "who am I".

use crate::proto::jute::{Decode, DecodeError, Encode, Reader, Writer};
use crate::proto::records::record;

/// `ReconfigRequest`: an incremental change (joining and/or leaving servers) or a whole new
/// member list, applied only if the current configuration's version is `cur_config_id` (-1:
/// any). Absent strings go on the wire as jute's null string, which the server tells apart from
/// an empty one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReconfigRequest {
    /// Comma-separated `server.N=...` specs to add.
    pub joining_servers: Option<String>,
    /// Comma-separated server ids to remove.
    pub leaving_servers: Option<String>,
    /// Comma-separated specs of the whole new ensemble (non-incremental).
    pub new_members: Option<String>,
    /// The configuration version this change is based on; -1 for "whatever is current".
    pub cur_config_id: i64,
}

impl Encode for ReconfigRequest {
    fn encode(&self, w: &mut Writer) {
        for s in [&self.joining_servers, &self.leaving_servers, &self.new_members] {
            // A jute ustring is coded like a buffer of its UTF-8 bytes; null is length -1.
            w.opt_buffer(s.as_deref().map(str::as_bytes));
        }
        w.i64(self.cur_config_id);
    }
}

record! {
    /// `GetSASLRequest` and `SetSASLResponse`: one SASL token each way (opcode `sasl`).
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct SaslToken {
        /// The mechanism's bytes.
        pub token: Vec<u8>,
    }
}

record! {
    /// One identity a session is authenticated as: (scheme, user).
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct ClientInfo {
        /// The scheme (`ip`, `digest`, `sasl`, `x509`, ...).
        pub auth_scheme: String,
        /// The id under that scheme.
        pub user: String,
    }
}

/// `WhoAmIResponse`: every identity of the session.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WhoAmIResponse {
    /// The identities, as the server lists them.
    pub client_info: Vec<ClientInfo>,
}

impl Decode for WhoAmIResponse {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(WhoAmIResponse { client_info: r.vector()? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconfig_request_codes_absent_strings_as_null() {
        let request = ReconfigRequest {
            joining_servers: Some("server.4=h:1:2;3".into()),
            leaving_servers: None,
            new_members: None,
            cur_config_id: -1,
        };
        let mut w = Writer::new();
        request.encode(&mut w);
        let bytes = w.into_bytes();
        let joining = b"server.4=h:1:2;3";
        let mut expected = (joining.len() as i32).to_be_bytes().to_vec();
        expected.extend_from_slice(joining);
        expected.extend_from_slice(&(-1i32).to_be_bytes());
        expected.extend_from_slice(&(-1i32).to_be_bytes());
        expected.extend_from_slice(&(-1i64).to_be_bytes());
        assert_eq!(bytes, expected);
    }

    #[test]
    fn who_am_i_response_decodes_a_vector_of_identities() {
        let mut w = Writer::new();
        w.i32(2);
        for (scheme, user) in [("ip", "127.0.0.1"), ("digest", "bob")] {
            w.string(scheme);
            w.string(user);
        }
        let bytes = w.into_bytes();
        let decoded = WhoAmIResponse::decode(&mut Reader::new(&bytes)).unwrap();
        assert_eq!(decoded.client_info.len(), 2);
        assert_eq!(decoded.client_info[1].user, "bob");
    }
}
