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
pub mod transient;

pub use call::Call;
pub use error::{ErrorKind, Refusal};
