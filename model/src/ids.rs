//! Ids and names: what the chaincode stores and the gateway checks before it sends anything.

use crate::error::{Refusal, Result};

/// Ids of projects, phases, records and files: short, printable, no separators (they become
/// parts of ledger keys and object keys).
pub fn validate_id(what: &str, id: &str) -> Result<()> {
    let ok = !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(Refusal::bad(format!("{what} id {id:?} must be 1-64 characters of A-Z a-z 0-9 . _ -")))
    }
}

/// An MSP id as Fabric's configtx allows it.
pub fn validate_msp_id(what: &str, msp_id: &str) -> Result<()> {
    if msp_id.is_empty() || msp_id.len() > 128 || !msp_id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-') {
        return Err(Refusal::bad(format!("{what} {msp_id:?} is not an MSP id (A-Z a-z 0-9 . -)")));
    }
    Ok(())
}

/// Free text (names, descriptions): not blank, at most `max` bytes.
pub fn check_text(what: &str, s: &str, max: usize) -> Result<()> {
    if s.trim().is_empty() || s.len() > max {
        return Err(Refusal::bad(format!("{what} must be 1 to {max} bytes")));
    }
    Ok(())
}

pub const MAX_NAME_BYTES: usize = 200;
pub const MAX_DESCRIPTION_BYTES: usize = 4000;

/// A file's display name, never a path: checked by the gateway before any byte is stored and by
/// the chaincode before it is anchored.
pub fn check_file_name(name: &str) -> Result<()> {
    if name.trim().is_empty() || name.len() > 255 {
        return Err(Refusal::bad("name must be 1 to 255 bytes"));
    }
    if name.contains(['/', '\\']) || name == "." || name == ".." || name.chars().any(char::is_control) {
        return Err(Refusal::bad(format!("name {name:?} must be a file name, not a path: no '/', '\\', control characters, '.' or '..'")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        for ok in ["p1", "A.b_c-d", &"x".repeat(64)] {
            assert!(validate_id("x", ok).is_ok(), "{ok}");
        }
        for bad in ["", "a b", "a/b", "a\u{0}b", &"x".repeat(65), "é"] {
            assert!(validate_id("x", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn msp_ids() {
        assert!(validate_msp_id("m", "Org1MSP").is_ok());
        for bad in ["", "Org 1", "Org/1", &"x".repeat(129)] {
            assert!(validate_msp_id("m", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn file_names_are_never_paths() {
        for ok in ["drawing.pdf", "a b.txt", "été.png", "..a"] {
            assert!(check_file_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", " ", "../etc/passwd", "a/b", "a\\b", ".", "..", "a\nb", "a\u{0}b", &"x".repeat(256)] {
            assert!(check_file_name(bad).is_err(), "{bad:?}");
        }
    }
}
