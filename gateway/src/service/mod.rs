//! What the gateway does, without HTTP: the state every request shares, and one module per
//! resource with the operations the REST handlers call. `crate::api` parses a request, calls one
//! function here and maps its answer (or its [`ServiceError`]) to a response; the pipelines these
//! functions run are `crate::uploads`, `crate::downloads`, `crate::phase_key` and
//! `crate::migration`.

mod caller;
mod error;
pub mod events;
pub mod files;
pub mod health;
mod health_cache;
pub mod migrations;
pub mod projects;
pub mod records;
mod state;

pub use caller::Caller;
pub use error::ServiceError;
pub use state::AppState;
