//! What the svcflow chaincode and its REST gateway must agree on, in one small crate with no
//! gRPC, Fabric or I/O in it:
//!
//! - the records svcflow keeps ([`project`], [`phase`], [`record`], [`file`](mod@file), [`event`], [`page`]);
//! - ids and their validation ([`ids`]); who is calling ([`identity`]);
//! - who may read and write a phase's data ([`acl`]) and how phases move through their life and
//!   who may change them ([`lifecycle`]);
//! - the chaincode's functions as one typed enum ([`call::Call`]) and the refusals it answers
//!   with, whose kind crosses the wire as a stable code ([`error`]).

pub mod acl;
pub mod call;
pub mod change;
pub mod error;
pub mod event;
pub mod file;
pub mod identity;
pub mod ids;
pub mod lifecycle;
pub mod migration;
pub mod page;
pub mod phase;
pub mod project;
pub mod record;
pub mod time;
pub mod transient;

pub use call::Call;
pub use error::{ErrorKind, Refusal};

/// docs/chaincode.md is the reference a peer CLI user reads: it must name every function and event.
#[cfg(test)]
mod docs {
    const CHAINCODE_MD: &str = include_str!("../../docs/chaincode.md");

    fn has_row(name: &str) -> bool {
        CHAINCODE_MD.lines().any(|l| l.starts_with(&format!("| `{name}` |")))
    }

    #[test]
    fn chaincode_md_has_a_row_for_every_call_and_event() {
        let missing: Vec<&str> =
            crate::Call::NAMES.iter().copied().chain(crate::event::Event::ALL.iter().map(|e| e.name())).filter(|n| !has_row(n)).collect();
        assert!(missing.is_empty(), "docs/chaincode.md has no table row for {missing:?}");
    }
}
