//! A phase's private keys and values as every org's blocks see them.
//!
//! A block carries the SHA-256 of every private key and value it writes, and every org of the
//! channel keeps the block. Plain keys (`record/p/P1/r1`) and unsalted JSON would let any org
//! confirm a guessed id or a small document offline, and link the versions of one record. So in a
//! blinded phase ([`Phase::blinded`], every phase created since) an item's key names it by a keyed
//! hash of its id, and every value written carries a salt, both derived from the phase's data
//! keys, which only its participants hold:
//! - names: HMAC of the id under a key derived from the first key version, which never changes, so an
//!   item keeps its key for life and ranges over a phase's items still work (in the order of the
//!   hashes, which says nothing);
//! - salts: 128 bits, HMAC of the transaction id and the key under a key derived from the latest
//!   key version set, so each write is fresh and a removed participant (who never gets the key
//!   made at its removal) cannot recompute the salts written after it left.
//!
//! Derived in the chaincode rather than sent by the client, so every endorser computes the same
//! write set and a plain `peer chaincode invoke` needs no salt of its own.

use ring::hmac;
use svcflow_model::phase::Phase;

use super::copies::{self, hex};
use crate::error::{ContractError, Result};
use crate::keys;
use crate::stub::Stub;

/// Hex digits of a name and of a salt: 128 bits each.
const HEX_LEN: usize = 32;
/// How a salted value begins: the salt is the first member of the stored JSON object.
const SALT_FIELD: &str = "{\"salt\":\"";

pub(super) struct Blinding {
    names: Names,
    salt: Option<hmac::Key>,
}

enum Names {
    /// A phase created before blinding: items are keyed by their ids.
    Plain,
    Keyed(hmac::Key),
    /// A blinded phase whose first key has not been set yet: it holds no item.
    NoKey,
}

impl Blinding {
    /// What reads of the phase need: the names of its items.
    pub(super) async fn reading<S: Stub>(stub: &S, phase: &Phase) -> Result<Self> {
        Ok(Self::with_first_key(stub, phase).await?.0)
    }

    /// Names derive from the first key version that was set: usually 1, but a phase whose key
    /// was still pending when a removal rotated it never gets one of that version (only the
    /// current version can be set), so the first one set stays the first.
    async fn with_first_key<S: Stub>(stub: &S, phase: &Phase) -> Result<(Self, Option<(u32, Vec<u8>)>)> {
        if !phase.blinded {
            return Ok((Self { names: Names::Plain, salt: None }, None));
        }
        for version in 1..=phase.key_version {
            if let Some(k) = copies::read(stub, phase, &keys::phase_key(&phase.project, &phase.id, version)).await? {
                return Ok((Self { names: Names::Keyed(derive(&k, b"svcflow names")), salt: None }, Some((version, k))));
            }
        }
        Ok((Self { names: Names::NoKey, salt: None }, None))
    }

    /// What writes need: names, and the salt of the current key version, which must be set (a
    /// removed participant knows the versions before it).
    pub(super) async fn writing<S: Stub>(stub: &S, phase: &Phase) -> Result<Self> {
        let (mut b, first) = Self::with_first_key(stub, phase).await?;
        if !phase.blinded {
            return Ok(b);
        }
        let current = match first {
            Some((v, k)) if v == phase.key_version => Some(k),
            Some(_) => copies::read(stub, phase, &keys::phase_key(&phase.project, &phase.id, phase.key_version)).await?,
            None => None,
        };
        b.salt = Some(derive(&current.ok_or_else(|| no_key(phase))?, b"svcflow salts"));
        Ok(b)
    }

    /// The name an item of kind `object_type` with id `id` has in the phase's keys; `None` in a
    /// phase without a key yet, which holds no item.
    pub(super) fn lookup(&self, object_type: &str, id: &str) -> Option<String> {
        match &self.names {
            Names::Plain => Some(id.to_owned()),
            Names::Keyed(k) => Some(name_with(k, object_type, id)),
            Names::NoKey => None,
        }
    }

    /// [`Self::lookup`] for a write, which needs the key.
    pub(super) fn name(&self, phase: &Phase, object_type: &str, id: &str) -> Result<String> {
        self.lookup(object_type, id).ok_or_else(|| no_key(phase))
    }

    /// `value` (a JSON object) as written under `key` by this transaction: with its own salt as
    /// the first member, replacing one it had (a superseded version moves to another key).
    pub(super) fn salted<S: Stub>(&self, stub: &S, key: &str, value: Vec<u8>) -> Vec<u8> {
        let (Some(k), Some(members)) = (&self.salt, members(&value)) else { return value };
        let tag = hmac::sign(k, &[stub.tx_id().as_bytes(), &[0], key.as_bytes()].concat());
        let mut out = Vec::with_capacity(value.len() + HEX_LEN + 12);
        out.extend_from_slice(SALT_FIELD.as_bytes());
        out.extend_from_slice(hex(&tag.as_ref()[..HEX_LEN / 2]).as_bytes());
        out.push(b'"');
        if members.first() != Some(&b'}') {
            out.push(b',');
        }
        out.extend_from_slice(members);
        out
    }
}

/// The members of the JSON object `value` after its opening brace, without the salt this module
/// put first if it has one (`{"salt":"…","a":1}` and `{"a":1}` → `"a":1}`); `None` for a value
/// that is not an object, which is left as it is.
fn members(value: &[u8]) -> Option<&[u8]> {
    let start = SALT_FIELD.len();
    let end = start + HEX_LEN;
    let salted =
        value.starts_with(SALT_FIELD.as_bytes()) && value.len() > end && value[start..end].iter().all(u8::is_ascii_hexdigit) && value[end] == b'"';
    match (salted, value.get(end + 1)) {
        (true, Some(b',')) => Some(&value[end + 2..]),
        (true, _) => Some(&value[end + 1..]),
        (false, _) => value.strip_prefix(b"{"),
    }
}

fn name_with(k: &hmac::Key, object_type: &str, id: &str) -> String {
    hex(&hmac::sign(k, &[object_type.as_bytes(), &[0], id.as_bytes()].concat()).as_ref()[..HEX_LEN / 2])
}

/// The name of an item in a blinded phase whose first data key is `first_key` (for tests that
/// look at the ledger itself).
#[cfg(test)]
pub(super) fn name_under(first_key: &[u8], object_type: &str, id: &str) -> String {
    name_with(&derive(first_key, b"svcflow names"), object_type, id)
}

fn derive(key: &[u8], purpose: &[u8]) -> hmac::Key {
    hmac::Key::new(hmac::HMAC_SHA256, hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), purpose).as_ref())
}

fn no_key(phase: &Phase) -> ContractError {
    ContractError::conflict(format!(
        "phase {} has no data key of version {} yet: a participant sets it first (SetPhaseKey; the gateway does when it meets a phase without one), as its items' names and salts derive from it",
        phase.id, phase.key_version
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_drop_an_earlier_salt() {
        let salt = "0123456789abcdef0123456789abcdef";
        assert_eq!(members(b"{\"a\":1}"), Some(&b"\"a\":1}"[..]));
        assert_eq!(members(b"{}"), Some(&b"}"[..]));
        assert_eq!(members(format!("{{\"salt\":\"{salt}\",\"a\":1}}").as_bytes()), Some(&b"\"a\":1}"[..]));
        assert_eq!(members(format!("{{\"salt\":\"{salt}\"}}").as_bytes()), Some(&b"}"[..]));
        assert_eq!(members(b"[1]"), None);
    }
}
