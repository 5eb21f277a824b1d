//! ECDSA P-256 signing of Fabric proposals and transactions with openssl.
//!
//! Every request signs three times (proposal, transaction, commit-status request), and the
//! `fabric-gateway` crate's pure-Rust signer was the largest share of the gateway's CPU under load
//! (measured with `perf`); openssl's assembly implementation does the same for a fraction of it.
//! Fabric accepts only low-S signatures, so S is folded into the lower half of the curve order,
//! as Fabric's own SDKs do.

use std::cmp::Ordering;

use fabric_gateway::{GatewayError, Signer};
use openssl::bn::{BigNum, BigNumContext};
use openssl::ec::EcKey;
use openssl::ecdsa::EcdsaSig;
use openssl::pkey::{PKey, Private};

pub struct OpensslSigner {
    key: EcKey<Private>,
    order: BigNum,
    half_order: BigNum,
}

impl OpensslSigner {
    /// From a PEM private key (PKCS#8 or SEC1) on the P-256 curve.
    pub fn from_pem(pem: &[u8]) -> Result<Self, String> {
        let key = PKey::private_key_from_pem(pem).and_then(|k| k.ec_key()).map_err(|e| format!("not an EC private key: {e}"))?;
        let mut order = BigNum::new().map_err(|e| e.to_string())?;
        let mut ctx = BigNumContext::new().map_err(|e| e.to_string())?;
        key.group().order(&mut order, &mut ctx).map_err(|e| e.to_string())?;
        if order.num_bits() != 256 {
            return Err(format!("a P-256 key is needed, this one's curve order has {} bits", order.num_bits()));
        }
        let mut half_order = BigNum::new().map_err(|e| e.to_string())?;
        half_order.rshift1(&order).map_err(|e| e.to_string())?;
        Ok(Self { key, order, half_order })
    }

    fn sign_low_s(&self, digest: &[u8]) -> Result<Vec<u8>, openssl::error::ErrorStack> {
        let sig = EcdsaSig::sign(digest, &self.key)?;
        let r = sig.r().to_owned()?;
        let mut s = sig.s().to_owned()?;
        if s.ucmp(&self.half_order) == Ordering::Greater {
            let mut low = BigNum::new()?;
            low.checked_sub(&self.order, &s)?;
            s = low;
        }
        EcdsaSig::from_private_components(r, s)?.to_der()
    }
}

impl std::fmt::Debug for OpensslSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OpensslSigner(P-256, key not shown)")
    }
}

impl Signer for OpensslSigner {
    fn sign(&self, digest: &[u8]) -> Result<Vec<u8>, GatewayError> {
        self.sign_low_s(digest).map_err(|e| GatewayError::Signing(format!("ecdsa sign failed: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use openssl::ec::EcGroup;
    use openssl::nid::Nid;

    #[test]
    fn signatures_verify_and_are_low_s() {
        let key = EcKey::generate(&EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap()).unwrap();
        let pem = PKey::from_ec_key(key.clone()).unwrap().private_key_to_pem_pkcs8().unwrap();
        let signer = OpensslSigner::from_pem(&pem).unwrap();
        // Without folding, about half of all signatures would be high-S: 64 make a miss unlikely.
        for i in 0..64u8 {
            let digest = openssl::sha::sha256(&[i]);
            let der = signer.sign(&digest).unwrap();
            let sig = EcdsaSig::from_der(&der).unwrap();
            assert!(sig.verify(&digest, &key).unwrap(), "signature {i} does not verify");
            assert_ne!(sig.s().ucmp(&signer.half_order), Ordering::Greater, "signature {i} is high-S");
        }
        // The same key read by the fabric-gateway crate's own signer verifies the same way.
        let theirs = fabric_gateway::EcdsaP256Signer::from_pem(std::str::from_utf8(&pem).unwrap()).unwrap();
        let digest = openssl::sha::sha256(b"x");
        assert!(EcdsaSig::from_der(&theirs.sign(&digest).unwrap()).unwrap().verify(&digest, &key).unwrap());
    }

    #[test]
    fn other_curves_and_junk_are_refused() {
        let p384 = EcKey::generate(&EcGroup::from_curve_name(Nid::SECP384R1).unwrap()).unwrap();
        let pem = PKey::from_ec_key(p384).unwrap().private_key_to_pem_pkcs8().unwrap();
        assert!(OpensslSigner::from_pem(&pem).unwrap_err().contains("P-256"));
        assert!(OpensslSigner::from_pem(b"junk").is_err());
    }
}
