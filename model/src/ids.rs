//! Ids and names: what the chaincode stores and the gateway checks before it sends anything.

use std::marker::PhantomData;

use serde::{Deserialize, Serialize};

use crate::error::{Refusal, Result};

pub const MAX_ID_BYTES: usize = 64;
pub const MAX_MSP_ID_BYTES: usize = 128;
pub const MAX_FILE_NAME_BYTES: usize = 255;

// The rules below as ECMA-262 patterns, for the OpenAPI document (the `regex` crate reads them
// alike; the tests hold them to the validators). JSON Schema counts a length in characters, the
// validators in UTF-8 bytes: byte limits are stated beside them.

/// The rule of [`Id`] (see [`Id::new`]).
pub const ID_PATTERN: &str = "^[A-Za-z0-9._-]{1,64}$";
/// The rule of [`MspId`].
pub const MSP_ID_PATTERN: &str = "^[A-Za-z0-9.-]{1,128}$";
/// Not blank as [`check_text`] sees it: a character that is not `char::is_whitespace`.
pub const NOT_BLANK_PATTERN: &str = r"[^\u0009-\u000D\u0020\u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]";
/// [`check_file_name`] but for its byte limit: no '/', '\\' or control character, and either a
/// character that is neither blank nor '.', or only dots and blanks, at least one dot, and
/// neither "." nor "..".
pub const FILE_NAME_PATTERN: &str = concat!(
    "^(?:",
    r"[^/\\\u0000-\u001F\u007F-\u009F]*",
    r"[^/\\.\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]",
    r"[^/\\\u0000-\u001F\u007F-\u009F]*",
    r"|[\u0020\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]\.",
    r"|\.[\u0020\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]",
    r"|\.[.\u0020\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]{2,}",
    r"|[.\u0020\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]\.[.\u0020\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]+",
    r"|[.\u0020\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]{2,}\.[.\u0020\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*",
    ")$"
);

/// Ids of projects, phases, records and files: short, printable, no separators (they become
/// parts of ledger keys and object keys). Only [`Id::new`] calls it: an id is checked once, where
/// it enters, and then carried as its type.
pub(crate) fn validate_id(what: &str, id: &str) -> Result<()> {
    let ok = !id.is_empty() && id.len() <= MAX_ID_BYTES && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(Refusal::bad(format!("{what} id {id:?} must be 1-64 characters of A-Z a-z 0-9 . _ -")))
    }
}

/// An MSP id as Fabric's configtx allows it (only [`MspId::new`] calls it).
pub(crate) fn validate_msp_id(what: &str, msp_id: &str) -> Result<()> {
    if msp_id.is_empty() || msp_id.len() > MAX_MSP_ID_BYTES || !msp_id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-') {
        return Err(Refusal::bad(format!("{what} {msp_id:?} is not an MSP id (A-Z a-z 0-9 . -)")));
    }
    Ok(())
}

/// What an [`Id`] names: its kind gives the id its own type and its errors their wording.
pub trait IdKind {
    /// `"project"`, `"phase"`, …: how an error names the id.
    const WHAT: &'static str;
}

macro_rules! id_kinds {
    ($($(#[$doc:meta])* $kind:ident / $alias:ident = $what:literal;)+) => {$(
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $kind {}
        impl IdKind for $kind {
            const WHAT: &'static str = $what;
        }
        $(#[$doc])*
        pub type $alias = Id<$kind>;
    )+};
}

id_kinds! {
    /// A project's id.
    ProjectKind / ProjectId = "project";
    /// A phase's id, unique within its project.
    PhaseKind / PhaseId = "phase";
    /// A record's id, unique within its phase.
    RecordKind / RecordId = "record";
    /// A file's id, unique within its phase.
    FileKind / FileId = "file";
}

/// An id of a project, phase, record or file, valid by construction: [`Id::new`] and
/// deserialisation check it ([`ID_PATTERN`]), and nothing else builds one. Read it as a `&str`.
pub struct Id<K> {
    id: String,
    kind: PhantomData<K>,
}

impl<K: IdKind> Id<K> {
    /// The id, if it keeps the rule; else a `bad_request` naming the kind and the rule.
    pub fn new(id: impl Into<String>) -> Result<Self> {
        let id = id.into();
        validate_id(K::WHAT, &id)?;
        Ok(Self { id, kind: PhantomData })
    }
}

impl<K> Id<K> {
    pub fn as_str(&self) -> &str {
        &self.id
    }

    pub fn into_string(self) -> String {
        self.id
    }
}

/// An MSP id as Fabric's configtx allows it ([`MSP_ID_PATTERN`]), valid by construction.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(into = "String")]
pub struct MspId(String);

impl MspId {
    pub fn new(msp_id: impl Into<String>) -> Result<Self> {
        Self::named("MSP id", msp_id)
    }

    /// As [`MspId::new`], an error naming it `what` (e.g. `participants[2].msp_id`).
    pub fn named(what: &str, msp_id: impl Into<String>) -> Result<Self> {
        let msp_id = msp_id.into();
        validate_msp_id(what, &msp_id)?;
        Ok(Self(msp_id))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for MspId {
    type Error = Refusal;
    fn try_from(s: String) -> Result<Self> {
        Self::new(s)
    }
}

impl From<MspId> for String {
    fn from(m: MspId) -> String {
        m.0
    }
}

impl std::str::FromStr for MspId {
    type Err = Refusal;
    fn from_str(s: &str) -> Result<Self> {
        Self::new(s)
    }
}

// What an id is read as: a string. `Deref` lets `&id` stand where `&str` is asked for (keys,
// paths, messages); nothing can change an id through it.
macro_rules! reads_as_str {
    ($([$($g:tt)*] $t:ty;)+) => {$(
        impl<$($g)*> std::ops::Deref for $t {
            type Target = str;
            fn deref(&self) -> &str {
                self.as_str()
            }
        }
        impl<$($g)*> AsRef<str> for $t {
            fn as_ref(&self) -> &str {
                self.as_str()
            }
        }
        impl<$($g)*> std::borrow::Borrow<str> for $t {
            fn borrow(&self) -> &str {
                self.as_str()
            }
        }
        impl<$($g)*> std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl<$($g)*> std::fmt::Debug for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                std::fmt::Debug::fmt(self.as_str(), f)
            }
        }
        impl<$($g)*> PartialEq<str> for $t {
            fn eq(&self, other: &str) -> bool {
                self.as_str() == other
            }
        }
        impl<$($g)*> PartialEq<&str> for $t {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }
        impl<$($g)*> PartialEq<String> for $t {
            fn eq(&self, other: &String) -> bool {
                self.as_str() == other
            }
        }
    )+};
}

reads_as_str! {
    [K] Id<K>;
    [] MspId;
}

// Derives would bound K itself; an id's kind is only a marker.
impl<K> Clone for Id<K> {
    fn clone(&self) -> Self {
        Self { id: self.id.clone(), kind: PhantomData }
    }
}
impl<K> PartialEq for Id<K> {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}
impl<K> Eq for Id<K> {}
impl<K> PartialOrd for Id<K> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl<K> Ord for Id<K> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.id.cmp(&other.id)
    }
}
impl<K> std::hash::Hash for Id<K> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.id.hash(state)
    }
}

impl<K: IdKind> std::str::FromStr for Id<K> {
    type Err = Refusal;
    fn from_str(s: &str) -> Result<Self> {
        Self::new(s)
    }
}

impl<K> Serialize for Id<K> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.id)
    }
}

impl<'de> Deserialize<'de> for MspId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        Self::new(String::deserialize(d)?).map_err(|e| serde::de::Error::custom(e.reason))
    }
}

impl<'de, K: IdKind> Deserialize<'de> for Id<K> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::new(s).map_err(|e| serde::de::Error::custom(e.reason))
    }
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
    if name.trim().is_empty() || name.len() > MAX_FILE_NAME_BYTES {
        return Err(Refusal::bad("name must be 1 to 255 bytes"));
    }
    if name.contains(['/', '\\']) || name == "." || name == ".." || name.chars().any(char::is_control) {
        return Err(Refusal::bad(format!("name {name:?} must be a file name, not a path: no '/', '\\', control characters, '.' or '..'")));
    }
    Ok(())
}

/// The rules above as OpenAPI schemas: the types that carry them name these in their own.
#[cfg(feature = "openapi")]
mod openapi {
    use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
    use utoipa::openapi::RefOr;

    use super::*;

    fn text(pattern: &str, min: usize, max: usize, description: String, example: &str) -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(pattern))
            .min_length(Some(min))
            .max_length(Some(max))
            .description(Some(description))
            .examples([example])
            .into()
    }

    macro_rules! schema {
        ($(#[$doc:meta] $name:ident => $schema:expr;)+) => {$(
            #[$doc]
            pub struct $name;
            impl utoipa::PartialSchema for $name {
                fn schema() -> RefOr<Schema> {
                    $schema
                }
            }
            impl utoipa::ToSchema for $name {}
        )+};
    }

    // Every kind of id has one rule, so one schema: `Id`.
    impl<K> utoipa::PartialSchema for Id<K> {
        fn schema() -> RefOr<Schema> {
            text(
                ID_PATTERN,
                1,
                MAX_ID_BYTES,
                format!("An id of a project, phase, record or file: 1-{MAX_ID_BYTES} characters of A-Z a-z 0-9 . _ -"),
                "demo",
            )
        }
    }
    impl<K> utoipa::ToSchema for Id<K> {
        fn name() -> std::borrow::Cow<'static, str> {
            "Id".into()
        }
    }
    impl utoipa::PartialSchema for MspId {
        fn schema() -> RefOr<Schema> {
            text(MSP_ID_PATTERN, 1, MAX_MSP_ID_BYTES, format!("An MSP id: 1-{MAX_MSP_ID_BYTES} characters of A-Z a-z 0-9 . -"), "Org1MSP")
        }
    }
    impl utoipa::ToSchema for MspId {}

    schema! {
        /// [`check_text`] for names.
        Name => text(NOT_BLANK_PATTERN, 1, MAX_NAME_BYTES, format!("1-{MAX_NAME_BYTES} bytes of UTF-8, not only whitespace"), "Bridge");
        /// [`check_file_name`].
        FileName => text(
            FILE_NAME_PATTERN,
            1,
            MAX_FILE_NAME_BYTES,
            format!(
                "A file name, never a path: 1-{MAX_FILE_NAME_BYTES} bytes of UTF-8 (maxLength counts characters: a non-ASCII \
                 name has fewer), not only whitespace, no '/', '\\' or control character (Unicode Cc), and not '.' or '..'"
            ),
            "drawing.pdf"
        );
        /// Free text of at most [`MAX_DESCRIPTION_BYTES`].
        Description => ObjectBuilder::new()
            .schema_type(Type::String)
            .max_length(Some(MAX_DESCRIPTION_BYTES))
            .description(Some(format!("At most {MAX_DESCRIPTION_BYTES} bytes of UTF-8")))
            .into();
    }
}

#[cfg(feature = "openapi")]
pub use openapi::{Description, FileName, Name};

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
    fn ids_are_checked_where_they_enter() {
        assert_eq!(ProjectId::new("p1").unwrap(), "p1");
        let e = PhaseId::new("a b").unwrap_err();
        assert!(e.reason.starts_with("phase id \"a b\""), "{e}");
        let e = serde_json::from_str::<RecordId>("\"a/b\"").unwrap_err();
        assert!(e.to_string().contains("record id \"a/b\" must be"), "{e}");
        let f: FileId = serde_json::from_str("\"f.1\"").unwrap();
        assert_eq!(serde_json::to_string(&f).unwrap(), "\"f.1\"");
        assert!(serde_json::from_str::<MspId>("\"Org 1\"").unwrap_err().to_string().contains("is not an MSP id"));
        assert_eq!("Org1MSP".parse::<MspId>().unwrap().as_str(), "Org1MSP");
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

    /// Every string of up to `n` characters over `alphabet`.
    fn strings(alphabet: &[char], n: usize) -> Vec<String> {
        let mut all = vec![String::new()];
        let mut last = vec![String::new()];
        for _ in 0..n {
            last = last.iter().flat_map(|s| alphabet.iter().map(move |c| format!("{s}{c}"))).collect();
            all.extend(last.iter().cloned());
        }
        all
    }

    fn pattern(p: &str) -> regex::Regex {
        regex::Regex::new(p).unwrap()
    }

    // What the OpenAPI document states must be what the validators do: a pattern looser than
    // its validator lets a client send what is refused, a stricter one hides what is allowed.
    #[test]
    fn patterns_agree_with_the_validators() {
        let tricky = ['a', 'Z', '0', '.', '_', '-', ' ', '/', '\\', '\n', '\t', '\u{7f}', '\u{85}', '\u{a0}', '\u{3000}', '\u{feff}', 'é'];
        let (id, msp, blank, file) = (pattern(ID_PATTERN), pattern(MSP_ID_PATTERN), pattern(NOT_BLANK_PATTERN), pattern(FILE_NAME_PATTERN));
        let mut samples = strings(&tricky, 3);
        samples.extend(["x".repeat(64), "x".repeat(65), "x".repeat(128), "x".repeat(129), "..a".into(), "a..".into(), " . ".into()]);
        for s in &samples {
            assert_eq!(id.is_match(s), validate_id("x", s).is_ok(), "id {s:?}");
            assert_eq!(msp.is_match(s), validate_msp_id("x", s).is_ok(), "msp id {s:?}");
            assert_eq!(blank.is_match(s), check_text("x", s, usize::MAX).is_ok(), "text {s:?}");
            assert_eq!(file.is_match(s), check_file_name(s).is_ok(), "file name {s:?}");
        }
    }
}
