//! SHA-256, as the peer hashes private values (`GetPrivateDataHash` answers with it).

/// SHA-256 of `bytes` (ring is in the build already, for the shim's TLS).
pub fn sha256(bytes: &[u8]) -> Vec<u8> {
    ring::digest::digest(&ring::digest::SHA256, bytes).as_ref().to_vec()
}

#[cfg(test)]
mod tests {
    #[test]
    fn known_value() {
        let h = super::sha256(b"abc");
        assert_eq!(h[..4], [0xba, 0x78, 0x16, 0xbf]);
    }
}
