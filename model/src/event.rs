//! Chaincode events. Their payload is written into blocks every org keeps: public ids only (the
//! project, the phase, the transaction); which record or file changed is asked with `GetChange`.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventIds {
    pub project: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    pub tx_id: String,
}
