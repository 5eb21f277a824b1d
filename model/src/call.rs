//! The chaincode's functions as one typed enum: the gateway builds a [`Call`], the chaincode
//! dispatches on one. On the wire a call is Fabric's `[function, json-argument]`.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{Refusal, Result};
use crate::page::PageReq;
use crate::phase::{NewPhase, PhaseUpdate};
use crate::project::NewProject;

/// `{"id": ...}`
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdArg {
    pub id: String,
}

/// `{"project": ...}`
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectArg {
    pub project: String,
}

/// One phase of a project.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhaseRef {
    pub project: String,
    #[serde(alias = "id")]
    pub phase: String,
}

/// A version of a phase's key (the current one when left out).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyRef {
    pub project: String,
    pub phase: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u32>,
}

/// A phase's values in one named collection.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CollectionRef {
    pub project: String,
    pub phase: String,
    pub collection: String,
}

/// A page of a phase's records or files: after `bookmark` (the last id of the previous page).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhasePage {
    pub project: String,
    pub phase: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_size: Option<u32>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub bookmark: String,
}

/// A page of one record's versions: after `bookmark` (the last version of the previous page).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemPage {
    pub project: String,
    pub phase: String,
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_size: Option<u32>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub bookmark: String,
}

impl PhasePage {
    pub fn req(&self) -> PageReq {
        PageReq { page_size: self.page_size, bookmark: self.bookmark.clone() }
    }
}

impl ItemPage {
    pub fn req(&self) -> PageReq {
        PageReq { page_size: self.page_size, bookmark: self.bookmark.clone() }
    }
}

/// One transaction of a phase.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TxRef {
    pub project: String,
    pub phase: String,
    pub tx_id: String,
}

/// One record or file of a phase.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemRef {
    pub project: String,
    pub phase: String,
    pub id: String,
}

/// `{}`: a function without arguments.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoArgs {}

/// Whether a function changes the ledger (submitted and ordered) or only reads it (evaluated).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
}

macro_rules! calls {
    ($( $(#[$doc:meta])* $name:ident($arg:ty) = $access:ident, )*) => {
        /// Every function of the svcflow chaincode with its argument.
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub enum Call {
            $( $(#[$doc])* $name($arg), )*
        }

        impl Call {
            /// Every function name, in the order above.
            pub const NAMES: &'static [&'static str] = &[$( stringify!($name) ),*];

            /// The function name Fabric carries as the first argument.
            pub fn name(&self) -> &'static str {
                match self { $( Call::$name(_) => stringify!($name), )* }
            }

            pub fn access(&self) -> Access {
                match self { $( Call::$name(_) => Access::$access, )* }
            }

            /// The JSON argument Fabric carries as the second argument.
            pub fn argument(&self) -> Result<String> {
                let json = match self { $( Call::$name(a) => serde_json::to_string(a), )* };
                json.map_err(|e| Refusal::internal(format!("encoding the {} argument: {e}", self.name())))
            }

            /// A call from Fabric's arguments; a bad name or argument is a `bad_request`.
            pub fn parse(name: &str, arg: &[u8]) -> Result<Self> {
                match name {
                    $( stringify!($name) => Ok(Call::$name(parse_arg(name, arg)?)), )*
                    other => Err(Refusal::bad(format!("unknown function {other:?}; one of {}", Self::NAMES.join(" ")))),
                }
            }
        }
    };
}

calls! {
    CreateProject(NewProject) = Write,
    GetProject(IdArg) = Read,
    ListProjects(PageReq) = Read,
    AddPhase(NewPhase) = Write,
    UpdatePhase(PhaseUpdate) = Write,
    ActivatePhase(PhaseRef) = Write,
    ClosePhase(PhaseRef) = Write,
    /// Every phase of a project, in order.
    ListPhases(ProjectArg) = Read,
    /// The phase key comes in the transient map under `phase_key`.
    SetPhaseKey(PhaseRef) = Write,
    /// A version of the phase key (the current one by default): participants only.
    GetPhaseKey(KeyRef) = Read,
    /// The record's id and document come in the transient map (`record_id`, `record`): a
    /// submitted transaction's arguments are public.
    PutRecord(PhaseRef) = Write,
    GetRecord(ItemRef) = Read,
    /// A page of the phase's records (latest versions), by id.
    ListRecords(PhasePage) = Read,
    /// A page of one record's versions, oldest first.
    RecordHistory(ItemPage) = Read,
    /// The anchor, with the file's id, comes in the transient map under `file`.
    AnchorFile(PhaseRef) = Write,
    GetFile(ItemRef) = Read,
    /// A page of the phase's file anchors, by id.
    ListFiles(PhasePage) = Read,
    /// Seals an anchored file's object anew under the current key version: the new object key
    /// and key version come in the transient map under `file`; size and hash stay.
    ResealFile(PhaseRef) = Write,
    /// The next batch of a migrating phase's values in its old collection (participants only).
    ReadMigrationBatch(PhaseRef) = Read,
    /// Moves the batch given in the transient map under `batch` to the new collection; the batch
    /// marked last ends the migration.
    MigratePhase(PhaseRef) = Write,
    /// How many of a phase's values a collection holds on the endorsing peer: an org's own check
    /// that it kept nothing after leaving (members of the collection only).
    PhaseHoldings(CollectionRef) = Read,
    /// Which record or file a transaction of the phase wrote (participants only).
    GetChange(TxRef) = Read,
    /// The caller's identity as the chaincode sees it.
    WhoAmI(NoArgs) = Read,
}

fn parse_arg<T: DeserializeOwned>(func: &str, arg: &[u8]) -> Result<T> {
    serde_json::from_slice(arg).map_err(|e| Refusal::bad(format!("{func}: argument is not the expected JSON: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn round_trips_through_fabrics_arguments() {
        let calls = [
            Call::GetProject(IdArg { id: "p".into() }),
            Call::ListProjects(PageReq { page_size: Some(5), bookmark: "b".into() }),
            Call::ActivatePhase(PhaseRef { project: "p".into(), phase: "P1".into() }),
            Call::PutRecord(PhaseRef { project: "p".into(), phase: "P1".into() }),
            Call::GetRecord(ItemRef { project: "p".into(), phase: "P1".into(), id: "r".into() }),
            Call::WhoAmI(NoArgs {}),
        ];
        for c in calls {
            let arg = c.argument().unwrap();
            assert_eq!(Call::parse(c.name(), arg.as_bytes()).unwrap(), c, "{arg}");
        }
        assert_eq!(Call::NAMES.len(), 23);
        assert_eq!(Call::parse("ClosePhase", br#"{"project":"p","id":"P"}"#).unwrap().access(), Access::Write);
    }

    #[test]
    fn bad_names_and_arguments_are_bad_requests() {
        for (name, arg) in [("Nope", "{}"), ("GetProject", "{"), ("GetProject", r#"{"id":"p","x":1}"#), ("WhoAmI", r#"{"a":1}"#)] {
            let e = Call::parse(name, arg.as_bytes()).unwrap_err();
            assert_eq!(e.kind, ErrorKind::BadRequest, "{name} {arg}: {e}");
        }
    }
}
