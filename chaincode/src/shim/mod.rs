//! Our chaincode shim: a chaincode-as-a-service gRPC server speaking Fabric's chaincode protocol.
//!
//! The peer dials us and opens `Chaincode.Connect`. On that stream we REGISTER our chaincode id,
//! wait for REGISTERED and READY, then serve TRANSACTION messages, each in its own task: ledger
//! calls go out tagged with (channel, tx id) and the peer's RESPONSE/ERROR is routed back to the
//! task that asked. A transaction ends with COMPLETED carrying a `Response` (200 or the refusal's
//! status + reason) and the chaincode event.
//!
//! The shim knows no contract: it runs whatever [`Contract`] it is handed, on a [`TxStub`].

mod ledger;
mod server;
mod stream;
mod transaction;

pub use ledger::TxStub;
pub use server::{serve, ServeError, ServerConfig, TlsFiles, MAX_MESSAGE_BYTES};
pub use transaction::{function_and_arg, Contract};
