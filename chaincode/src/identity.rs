//! Who is calling: the transaction creator's X.509 certificate, as the peer hands it over
//! (MSP id + PEM), read with `x509-parser` into the model's [`Identity`].

use base64::Engine;
pub use svcflow_model::identity::{Identity, Role};
use x509_parser::prelude::*;

use crate::error::{ContractError, Result};

/// Fabric CA puts enrollment attributes in this extension as `{"attrs":{...}}`.
const FABRIC_ATTRS_OID: &str = "1.2.3.4.5.6.7.8.1";

/// The identity of a creator certificate (PEM) of MSP `msp_id`.
pub fn from_pem(msp_id: &str, pem: &[u8]) -> Result<Identity> {
    let bad = |e: String| ContractError::bad(format!("creator certificate: {e}"));
    let (_, pem) = parse_x509_pem(pem).map_err(|e| bad(e.to_string()))?;
    let cert = pem.parse_x509().map_err(|e| bad(e.to_string()))?;
    let subject = go_dn(cert.subject());
    let issuer = go_dn(cert.issuer());
    let id = base64::engine::general_purpose::STANDARD.encode(format!("x509::{subject}::{issuer}"));
    let role = cert
        .subject()
        .iter_organizational_unit()
        .filter_map(|ou| ou.as_str().ok())
        .find_map(|ou| match ou {
            "client" => Some(Role::Client),
            "admin" => Some(Role::Admin),
            "peer" => Some(Role::Peer),
            "orderer" => Some(Role::Orderer),
            _ => None,
        })
        .unwrap_or(Role::Member);
    let mut attrs = serde_json::Map::new();
    for ext in cert.extensions() {
        if ext.oid.to_id_string() == FABRIC_ATTRS_OID {
            if let Ok(serde_json::Value::Object(mut o)) = serde_json::from_slice::<serde_json::Value>(ext.value) {
                if let Some(serde_json::Value::Object(a)) = o.remove("attrs") {
                    attrs = a;
                }
            }
        }
    }
    Ok(Identity { msp_id: msp_id.to_owned(), id, subject, issuer, role, attrs })
}

/// The attributes Go's `pkix.Name` keeps, in the order its `ToRDNSequence` emits them.
const GO_DN_ORDER: [(&str, &str); 9] = [
    ("2.5.4.6", "C"),
    ("2.5.4.8", "ST"),
    ("2.5.4.7", "L"),
    ("2.5.4.9", "STREET"),
    ("2.5.4.17", "POSTALCODE"),
    ("2.5.4.10", "O"),
    ("2.5.4.11", "OU"),
    ("2.5.4.3", "CN"),
    ("2.5.4.5", "SERIALNUMBER"),
];

/// A distinguished name as Go's cid formats it (`pkix.Name` → `ToRDNSequence` → RFC 2253 text):
/// not the certificate's own RDN order but Go's fixed one — C, ST, L, STREET, POSTALCODE, O, OU,
/// CN, SERIALNUMBER — printed last to first; the values of one type (e.g. Fabric CA's several OUs)
/// form one multi-valued RDN joined by "+" in certificate order; CN and SERIALNUMBER keep their
/// last value; any other attribute (emailAddress, UID, DC, ...) is left out; RFC 4514 escaping.
fn go_dn(name: &X509Name<'_>) -> String {
    let mut values: [Vec<&str>; 9] = Default::default();
    for atv in name.iter_attributes() {
        let oid = atv.attr_type().to_id_string();
        let (Some(i), Ok(v)) = (GO_DN_ORDER.iter().position(|(o, _)| *o == oid), atv.as_str()) else { continue };
        if GO_DN_ORDER[i].1 == "CN" || GO_DN_ORDER[i].1 == "SERIALNUMBER" {
            values[i] = if v.is_empty() { Vec::new() } else { vec![v] };
        } else {
            values[i].push(v);
        }
    }
    GO_DN_ORDER
        .iter()
        .zip(values.iter())
        .rev()
        .filter(|(_, vs)| !vs.is_empty())
        .map(|((_, key), vs)| vs.iter().map(|v| format!("{key}={}", escape(v))).collect::<Vec<_>>().join("+"))
        .collect::<Vec<_>>()
        .join(",")
}

/// RFC 4514 escaping, as Go applies it.
fn escape(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    for (i, &c) in chars.iter().enumerate() {
        let special =
            matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';') || (i == 0 && (c == ' ' || c == '#')) || (i == chars.len() - 1 && c == ' ');
        if special {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A cryptogen client certificate (public part only) and what Go's crypto/x509 + cid say of it.
    pub const USER1_ORG1: &str = "-----BEGIN CERTIFICATE-----
MIICMTCCAdegAwIBAgIRANBswfiK0VZqs69+V5JDUw4wCgYIKoZIzj0EAwIwdzEL
MAkGA1UEBhMCVVMxEzARBgNVBAgTCkNhbGlmb3JuaWExFjAUBgNVBAcTDVNhbiBG
cmFuY2lzY28xGzAZBgNVBAoTEm9yZzEuc3ZjZmxvdy5sb2NhbDEeMBwGA1UEAxMV
Y2Eub3JnMS5zdmNmbG93LmxvY2FsMB4XDTI2MTEyNDAzNDUwMFoXDTM2MTEyMTAz
NDUwMFowbjELMAkGA1UEBhMCVVMxEzARBgNVBAgTCkNhbGlmb3JuaWExFjAUBgNV
BAcTDVNhbiBGcmFuY2lzY28xDzANBgNVBAsTBmNsaWVudDEhMB8GA1UEAwwYVXNl
cjFAb3JnMS5zdmNmbG93LmxvY2FsMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE
OFJnUziQn2k2xxHGT7v1cIyJNZAu4Ma/yOTa+KSfx83Vp4VnGFt8LmaGFD8yxgJv
t5EXNLnnQepjEO4NkUXaHaNNMEswDgYDVR0PAQH/BAQDAgeAMAwGA1UdEwEB/wQC
MAAwKwYDVR0jBCQwIoAgXr8io/1KuetRfgHsiyMXTwrZUUfi8RFvdQJLCC+tdtsw
CgYIKoZIzj0EAwIDSAAwRQIhAOxq9TJLYIoWg+GTDAUEYIAjXfa7fxmNgFG9vY8u
idNXAiAI6gdAZc8GUEteiwq4X5yWfbke45XlCBP/RoLfuiQxsw==
-----END CERTIFICATE-----
";

    #[test]
    fn id_matches_go_cid() {
        let id = from_pem("Org1MSP", USER1_ORG1.as_bytes()).unwrap();
        assert_eq!(id.subject, "CN=User1@org1.svcflow.local,OU=client,L=San Francisco,ST=California,C=US");
        assert_eq!(id.issuer, "CN=ca.org1.svcflow.local,O=org1.svcflow.local,L=San Francisco,ST=California,C=US");
        // Printed by a Go program: base64("x509::" + Subject.String() + "::" + Issuer.String()).
        assert_eq!(id.id, "eDUwOTo6Q049VXNlcjFAb3JnMS5zdmNmbG93LmxvY2FsLE9VPWNsaWVudCxMPVNhbiBGcmFuY2lzY28sU1Q9Q2FsaWZvcm5pYSxDPVVTOjpDTj1jYS5vcmcxLnN2Y2Zsb3cubG9jYWwsTz1vcmcxLnN2Y2Zsb3cubG9jYWwsTD1TYW4gRnJhbmNpc2NvLFNUPUNhbGlmb3JuaWEsQz1VUw==");
        assert_eq!(id.role, Role::Client);
        assert_eq!(id.common_name().as_deref(), Some("User1@org1.svcflow.local"));
    }

    /// Made with openssl (key thrown away) to hold what Fabric CA certificates hold and more:
    /// RDNs out of Go's order, several OUs (one multi-valued RDN `org1+department1`), an
    /// emailAddress, a CN needing escapes, and the Fabric CA attributes extension. Expected values
    /// printed by a Go program with crypto/x509 and cid's DN formatting.
    pub const FABRIC_CA_STYLE: &str = "-----BEGIN CERTIFICATE-----
MIIC2zCCAoGgAwIBAgIUVstSIFeV6Nnx0lfRhVfVLFrC2o8wCgYIKoZIzj0EAwIw
aDELMAkGA1UEBhMCVVMxFzAVBgNVBAgMDk5vcnRoIENhcm9saW5hMRQwEgYDVQQK
DAtIeXBlcmxlZGdlcjEPMA0GA1UECwwGRmFicmljMRkwFwYDVQQDDBBmYWJyaWMt
Y2Etc2VydmVyMB4XDTI2MTEyNDA2MDIxM1oXDTM2MTEyMTA2MDIxM1owgaMxGTAX
BgNVBAMMECNTbWl0aCwgSityIDx4PiAxCzAJBgNVBAYTAlVTMQ8wDQYDVQQLDAZj
bGllbnQxFDASBgNVBAoMC0h5cGVybGVkZ2VyMSEwCwYDVQQLDARvcmcxMBIGA1UE
CwwLZGVwYXJ0bWVudDExFzAVBgNVBAgMDk5vcnRoIENhcm9saW5hMRYwFAYJKoZI
hvcNAQkBFgdzQHgub3JnMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEideGW5E6
MdA5NWzlhmRBNqfhN6h4x5cwtfIvzHrEZAQoY1CE8YxPBURbo9eBrU7+jacd894W
Adztk+z9NidB26OBzDCByTAMBgNVHRMBAf8EAjAAMHkGCCoDBAUGBwgBBG17ImF0
dHJzIjp7ImhmLkFmZmlsaWF0aW9uIjoib3JnMS5kZXBhcnRtZW50MSIsImhmLkVu
cm9sbG1lbnRJRCI6InVzZXI3IiwiaGYuVHlwZSI6ImNsaWVudCIsInJvbGUiOiJh
dWRpdG9yIn19MB0GA1UdDgQWBBRfxzrcryVL0PsWxBKzhYXR8i+GjTAfBgNVHSME
GDAWgBRVU21pr6ejrhFK2EVj35+6x/Io2zAKBggqhkjOPQQDAgNIADBFAiAz53WG
ewVvU1L3Y8kEvT4x7n4txf/4T15gvZFx7kfRggIhAKb7wuSHB/XFhrb1YK9uS5m7
2hRrUmmWA1R7lj0q3tZt
-----END CERTIFICATE-----
";

    #[test]
    fn id_follows_gos_name_order_for_fabric_ca_certificates() {
        let id = from_pem("Org1MSP", FABRIC_CA_STYLE.as_bytes()).unwrap();
        assert_eq!(id.subject, "CN=\\#Smith\\, J\\+r \\<x\\>\\ ,OU=client+OU=org1+OU=department1,O=Hyperledger,ST=North Carolina,C=US");
        assert_eq!(id.issuer, "CN=fabric-ca-server,OU=Fabric,O=Hyperledger,ST=North Carolina,C=US");
        assert_eq!(id.id, "eDUwOTo6Q049XCNTbWl0aFwsIEpcK3IgXDx4XD5cICxPVT1jbGllbnQrT1U9b3JnMStPVT1kZXBhcnRtZW50MSxPPUh5cGVybGVkZ2VyLFNUPU5vcnRoIENhcm9saW5hLEM9VVM6OkNOPWZhYnJpYy1jYS1zZXJ2ZXIsT1U9RmFicmljLE89SHlwZXJsZWRnZXIsU1Q9Tm9ydGggQ2Fyb2xpbmEsQz1VUw==");
        assert_eq!(id.role, Role::Client);
        assert_eq!(id.common_name().as_deref(), Some("#Smith, J+r <x> "));
        assert_eq!(id.attrs["hf.EnrollmentID"], "user7");
        assert_eq!(id.attrs["role"], "auditor");
        assert_eq!(id.attrs.len(), 4);
    }

    #[test]
    fn escaping_follows_rfc4514() {
        assert_eq!(escape("a,b+c"), "a\\,b\\+c");
        assert_eq!(escape(" #x "), "\\ #x\\ ");
        assert_eq!(escape("#a"), "\\#a");
    }

    #[test]
    fn garbage_is_a_clear_error() {
        let e = from_pem("Org1MSP", b"not a cert").unwrap_err();
        assert!(e.to_string().starts_with("bad_request: creator certificate"));
    }
}
