//! Who is calling, as the chaincode reads it from the transaction's creator certificate (the
//! parsing lives in the chaincode; the gateway gets this from `WhoAmI`).

use serde::{Deserialize, Serialize};

/// The role an MSP with NodeOUs gives a certificate (from its subject OU).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Client,
    Admin,
    Peer,
    Orderer,
    Member,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Identity {
    #[cfg_attr(feature = "openapi", schema(value_type = crate::ids::MspId))]
    pub msp_id: String,
    /// Stable id of the identity: the same string Go's `cid.GetID` returns,
    /// base64("x509::" + subject DN + "::" + issuer DN) with Go's DN formatting.
    pub id: String,
    pub subject: String,
    pub issuer: String,
    pub role: Role,
    /// Fabric CA attributes, when the certificate has them.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub attrs: serde_json::Map<String, serde_json::Value>,
}

impl Identity {
    /// The subject's common name (cryptogen: `User1@org1.svcflow.local`), unescaped. In Go's
    /// order the CN, when there is one, is the first RDN of the subject.
    pub fn common_name(&self) -> Option<String> {
        let rest = self.subject.strip_prefix("CN=")?;
        let mut out = String::new();
        let mut chars = rest.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => out.push(chars.next()?),
                ',' | '+' => break,
                c => out.push(c),
            }
        }
        Some(out)
    }

    pub fn principal(&self) -> Principal {
        Principal { msp_id: self.msp_id.clone(), id: self.id.clone() }
    }
}

/// Someone who did something: an MSP and an identity id within it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Principal {
    #[cfg_attr(feature = "openapi", schema(value_type = crate::ids::MspId))]
    pub msp_id: String,
    pub id: String,
}
