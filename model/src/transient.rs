//! A call's private inputs and their place in the transient map: a submitted transaction's
//! arguments are written into the block every org keeps, so what only a phase's participants may
//! see rides in the transient map, which reaches the endorsing peers and never a block. This
//! module is the only one that names a transient key.

use std::collections::HashMap;

use crate::error::{Refusal, Result};
use crate::file::{NewAnchor, Reseal};
use crate::ids::RecordId;
use crate::migration::Batch;
use crate::phase::PHASE_KEY_BYTES;

/// The transient map as Fabric carries it.
pub type Transient = HashMap<String, Vec<u8>>;

/// Every key any call takes, so that a call given another's private input refuses it rather than
/// ignore it (e.g. a phase key sent with `AddPhase`, whose endorsers may be outside the phase).
pub const KEYS: &[&str] = &[NewRecord::ID, NewRecord::DOCUMENT, FILE, BATCH, NewPhaseKey::KEY];

const FILE: &str = "file";
const BATCH: &str = "batch";

/// A private input: how it is written into the transient map and read back from it.
pub trait Private: Sized {
    /// The transient keys it occupies.
    const KEYS: &'static [&'static str];
    fn encode(&self) -> Result<Transient>;
    /// `get` reads one key of the transient map.
    fn decode<'a>(get: impl Fn(&str) -> Option<&'a [u8]>) -> Result<Self>;
}

fn required<'a>(get: &impl Fn(&str) -> Option<&'a [u8]>, key: &str, what: &str) -> Result<&'a [u8]> {
    get(key).ok_or_else(|| Refusal::bad(format!("{what} must come in the transient map under \"{key}\" (arguments are public)")))
}

/// `PutRecord`'s private input: the record's id (private too: it may tell what the record is)
/// and its JSON document as sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewRecord {
    pub id: RecordId,
    /// The document's JSON bytes; the chaincode parses and bounds them.
    pub document: Vec<u8>,
}

impl NewRecord {
    const ID: &'static str = "record_id";
    const DOCUMENT: &'static str = "record";
}

impl Private for NewRecord {
    const KEYS: &'static [&'static str] = &[Self::ID, Self::DOCUMENT];

    fn encode(&self) -> Result<Transient> {
        Ok(Transient::from([(Self::ID.to_owned(), self.id.as_bytes().to_vec()), (Self::DOCUMENT.to_owned(), self.document.clone())]))
    }

    fn decode<'a>(get: impl Fn(&str) -> Option<&'a [u8]>) -> Result<Self> {
        let id = required(&get, Self::ID, "the record id")?;
        let id = std::str::from_utf8(id).map_err(|_| Refusal::bad("transient record_id is not UTF-8"))?;
        let document = required(&get, Self::DOCUMENT, "the record document")?.to_vec();
        Ok(Self { id: RecordId::new(id)?, document })
    }
}

/// `SetPhaseKey`'s private input: a phase's 32-byte data key.
#[derive(Clone, PartialEq, Eq)]
pub struct NewPhaseKey(Vec<u8>);

impl NewPhaseKey {
    const KEY: &'static str = "phase_key";

    /// A key of exactly [`PHASE_KEY_BYTES`].
    pub fn new(key: Vec<u8>) -> Result<Self> {
        if key.len() != PHASE_KEY_BYTES {
            return Err(Refusal::bad(format!("transient phase_key must be {PHASE_KEY_BYTES} bytes, got {}", key.len())));
        }
        Ok(Self(key))
    }

    pub fn bytes(&self) -> &[u8] {
        &self.0
    }
}

/// A key is never printed.
impl std::fmt::Debug for NewPhaseKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewPhaseKey(..)")
    }
}

impl Private for NewPhaseKey {
    const KEYS: &'static [&'static str] = &[Self::KEY];

    fn encode(&self) -> Result<Transient> {
        Ok(Transient::from([(Self::KEY.to_owned(), self.0.clone())]))
    }

    fn decode<'a>(get: impl Fn(&str) -> Option<&'a [u8]>) -> Result<Self> {
        let key = get(Self::KEY).ok_or_else(|| Refusal::bad(format!("transient phase_key ({PHASE_KEY_BYTES} bytes) is required")))?;
        Self::new(key.to_vec())
    }
}

/// Private inputs that travel as one JSON value under one key.
macro_rules! json_private {
    ($($t:ty => $key:expr, $what:literal;)+) => {$(
        impl Private for $t {
            const KEYS: &'static [&'static str] = &[$key];

            fn encode(&self) -> Result<Transient> {
                let json = serde_json::to_vec(self).map_err(|e| Refusal::internal(format!("encoding {}: {e}", $what)))?;
                Ok(Transient::from([($key.to_owned(), json)]))
            }

            fn decode<'a>(get: impl Fn(&str) -> Option<&'a [u8]>) -> Result<Self> {
                let raw = required(&get, $key, $what)?;
                serde_json::from_slice(raw).map_err(|e| Refusal::bad(format!("transient {} is not the expected JSON: {e}", $key)))
            }
        }
    )+};
}

json_private! {
    NewAnchor => FILE, "the file anchor";
    Reseal => FILE, "the new object";
    Batch => BATCH, "the batch";
}

/// Refuses any private input the call `name` does not take (`takes`: the keys it does).
pub(crate) fn refuse_others<'a>(name: &str, takes: &[&str], get: impl Fn(&str) -> Option<&'a [u8]>) -> Result<()> {
    match KEYS.iter().find(|k| !takes.contains(k) && get(k).is_some()) {
        None => Ok(()),
        Some(k) => Err(Refusal::bad(format!(
            "{name} takes no {k} (a transaction's endorsers may be outside the phase; only the call that needs a private input is sent it)"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    fn from<'a>(t: &'a Transient) -> impl Fn(&str) -> Option<&'a [u8]> + 'a {
        move |k| t.get(k).map(Vec::as_slice)
    }

    #[test]
    fn private_inputs_round_trip_through_the_transient_map() {
        let r = NewRecord { id: RecordId::new("r1").unwrap(), document: br#"{"a":1}"#.to_vec() };
        assert_eq!(NewRecord::decode(from(&r.encode().unwrap())).unwrap(), r);
        let k = NewPhaseKey::new(vec![7; 32]).unwrap();
        assert_eq!(NewPhaseKey::decode(from(&k.encode().unwrap())).unwrap(), k);
        let b = Batch { items: vec![], last: true, ..Batch::default() };
        assert_eq!(Batch::decode(from(&b.encode().unwrap())).unwrap(), b);
    }

    #[test]
    fn missing_or_bad_private_inputs_are_bad_requests() {
        let none = Transient::new();
        let e = NewRecord::decode(from(&none)).unwrap_err();
        assert!(e.reason.contains("under \"record_id\""), "{e}");
        let short = Transient::from([("phase_key".to_owned(), vec![1; 5])]);
        assert!(NewPhaseKey::decode(from(&short)).unwrap_err().reason.contains("32 bytes, got 5"));
        let bad_id = Transient::from([("record_id".to_owned(), b"a b".to_vec()), ("record".to_owned(), b"{}".to_vec())]);
        assert_eq!(NewRecord::decode(from(&bad_id)).unwrap_err().kind, ErrorKind::BadRequest);
        assert!(format!("{:?}", NewPhaseKey::new(vec![9; 32]).unwrap()).contains(".."), "a key is never printed");
    }
}
