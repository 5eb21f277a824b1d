//! Ledger keys. Composite keys in Fabric's format (`\0type\0attr\0attr\0`), so range queries
//! over one type and prefix never mix with simple keys, mirroring Go's `CreateCompositeKey`.

const SEP: char = '\u{0}';
/// The smallest key after every composite key's possible attributes of a prefix.
const MAX_UNICODE: char = '\u{10FFFF}';

pub const PROJECT: &str = "svcflow.project";
pub const PHASE: &str = "svcflow.phase";
pub const RECORD: &str = "svcflow.record";
pub const RECORD_VERSION: &str = "svcflow.record_version";
pub const FILE: &str = "svcflow.file";
pub const PHASE_KEY: &str = "svcflow.phase_key";
pub const CHANGE: &str = "svcflow.change";
/// Where a migration's current track stands (public, apart from the phase every write reads).
pub const MIGRATION: &str = "svcflow.migration";
/// A key of the phase written while orgs receive their copies (private, in the staying copies):
/// the fill copies it again before the joiners take part. Not a value of the phase.
pub const WRITTEN_IN_FILL: &str = "svcflow.written_in_fill";

/// Every type of private value a phase keeps in its collection, all keyed `[project, phase, ..]`:
/// what a migration moves.
pub const PHASE_PRIVATE: [&str; 5] = [RECORD, RECORD_VERSION, FILE, PHASE_KEY, CHANGE];

/// Whether `key` is one of phase `phase` of `project`'s private values.
pub fn of_phase(key: &str, project: &str, phase: &str) -> bool {
    let Some(rest) = key.strip_prefix(SEP) else { return false };
    let mut parts = rest.split(SEP);
    let (Some(t), Some(p), Some(ph)) = (parts.next(), parts.next(), parts.next()) else { return false };
    PHASE_PRIVATE.contains(&t) && p == project && ph == phase && key.ends_with(SEP)
}

pub fn composite(object_type: &str, attrs: &[&str]) -> String {
    let mut k = String::with_capacity(object_type.len() + attrs.iter().map(|a| a.len() + 1).sum::<usize>() + 2);
    k.push(SEP);
    k.push_str(object_type);
    k.push(SEP);
    for a in attrs {
        k.push_str(a);
        k.push(SEP);
    }
    k
}

/// Start and end keys of a range over all composite keys of `object_type` starting with `attrs`.
pub fn prefix_range(object_type: &str, attrs: &[&str]) -> (String, String) {
    let start = composite(object_type, attrs);
    let mut end = start.clone();
    end.push(MAX_UNICODE);
    (start, end)
}

/// The attributes of a composite key.
pub fn split(key: &str) -> Vec<&str> {
    key.trim_matches(SEP).split(SEP).skip(1).collect()
}

pub fn project(id: &str) -> String {
    composite(PROJECT, &[id])
}
pub fn phase(project: &str, phase: &str) -> String {
    composite(PHASE, &[project, phase])
}
pub fn record(project: &str, phase: &str, id: &str) -> String {
    composite(RECORD, &[project, phase, id])
}
/// Versions sort by number because they are zero-padded.
pub fn record_version(project: &str, phase: &str, id: &str, version: u64) -> String {
    composite(RECORD_VERSION, &[project, phase, id, &format!("{version:012}")])
}
pub fn file(project: &str, phase: &str, id: &str) -> String {
    composite(FILE, &[project, phase, id])
}
pub fn phase_key(project: &str, phase: &str, version: u32) -> String {
    composite(PHASE_KEY, &[project, phase, &format!("{version:06}")])
}
/// Which item transaction `tx_id` wrote (kept in the phase's collection).
pub fn change(project: &str, phase: &str, tx_id: &str) -> String {
    composite(CHANGE, &[project, phase, tx_id])
}

/// Where the migration of a phase stands.
pub fn migration(project: &str, phase: &str) -> String {
    composite(MIGRATION, &[project, phase])
}
/// The mark of a phase key written during a fill, named by the key's SHA-256 (hex), which the
/// block that wrote the key carries already.
pub fn written_in_fill(project: &str, phase: &str, key_hash: &str) -> String {
    composite(WRITTEN_IN_FILL, &[project, phase, key_hash])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn composite_keys_match_fabrics_layout() {
        assert_eq!(composite("t", &["a", "b"]), "\u{0}t\u{0}a\u{0}b\u{0}");
        assert_eq!(split(&composite("t", &["a", "b"])), vec!["a", "b"]);
        let (s, e) = prefix_range("t", &["a"]);
        assert!(s < composite("t", &["a", "zzz"]) && composite("t", &["a", "zzz"]) < e);
        assert!(composite("t", &["ab"]) > e || composite("t", &["ab"]) < s);
    }

    #[test]
    fn phase_values() {
        assert!(of_phase(&record("p", "P1", "r"), "p", "P1"));
        assert!(of_phase(&phase_key("p", "P1", 2), "p", "P1"));
        assert!(!of_phase(&record("p", "P10", "r"), "p", "P1"));
        assert!(!of_phase(&record("q", "P1", "r"), "p", "P1"));
        assert!(!of_phase(&phase("p", "P1"), "p", "P1"), "public phase state is not private data");
        assert!(!of_phase("svcflow.record", "p", "P1"));
        assert!(!of_phase(&written_in_fill("p", "P1", "ab"), "p", "P1"), "a mark is no value of the phase");
    }
}
