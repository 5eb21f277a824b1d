//! The chaincode's functions as one typed enum: the gateway builds a [`Call`], the chaincode
//! dispatches on one. On the wire a call is Fabric's `[function, json-argument]` and, for the
//! functions with a private input, the transient map ([`crate::transient`]).

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{Refusal, Result};
use crate::file::{NewAnchor, Reseal};
use crate::ids::{FileKind, Id, IdKind, PhaseId, ProjectId, RecordId, RecordKind};
use crate::migration::Batch;
use crate::page::PageReq;
use crate::phase::{NewPhase, PhaseUpdate};
use crate::project::NewProject;
use crate::transient::{self, NewPhaseKey, NewRecord, Private, Transient};

/// `{"id": ...}`: a project.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdArg {
    pub id: ProjectId,
}

/// `{"project": ...}`
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectArg {
    pub project: ProjectId,
}

/// One phase of a project.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhaseRef {
    pub project: ProjectId,
    #[serde(alias = "id")]
    pub phase: PhaseId,
}

/// A version of a phase's key (the current one when left out).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyRef {
    pub project: ProjectId,
    pub phase: PhaseId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u32>,
}

/// Where `ReadMigrationBatch` reads on: after `after` (the previous batch's `next`), or from the
/// first value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchRef {
    pub project: ProjectId,
    pub phase: PhaseId,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub after: String,
}

/// A phase's values in one named collection.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CollectionRef {
    pub project: ProjectId,
    pub phase: PhaseId,
    pub collection: String,
}

/// A page of a phase's records or files: after `bookmark` (the last id of the previous page).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhasePage {
    pub project: ProjectId,
    pub phase: PhaseId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_size: Option<u32>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub bookmark: String,
}

/// A page of one record's versions: after `bookmark` (the last version of the previous page).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemPage {
    pub project: ProjectId,
    pub phase: PhaseId,
    pub id: RecordId,
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
    pub project: ProjectId,
    pub phase: PhaseId,
    pub tx_id: String,
}

/// One record ([`RecordRef`]) or file ([`FileRef`]) of a phase.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, bound(serialize = "", deserialize = "K: IdKind"))]
pub struct ItemRef<K> {
    pub project: ProjectId,
    pub phase: PhaseId,
    pub id: Id<K>,
}

pub type RecordRef = ItemRef<RecordKind>;
pub type FileRef = ItemRef<FileKind>;

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
    (
        public: { $( $(#[$doc:meta])* $name:ident($arg:ty) = $access:ident, )* }
        private: { $( $(#[$pdoc:meta])* $pname:ident($parg:ty, $private:ty) = $paccess:ident, )* }
    ) => {
        /// Every function of the svcflow chaincode with its whole input: the public argument and,
        /// for the functions that take one, the private input that rides in the transient map.
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub enum Call {
            $( $(#[$doc])* $name($arg), )*
            $( $(#[$pdoc])* $pname($parg, $private), )*
        }

        impl Call {
            /// Every function name: those without a private input, then those with one.
            pub const NAMES: &'static [&'static str] = &[$( stringify!($name), )* $( stringify!($pname), )*];

            /// The function name Fabric carries as the first argument.
            pub fn name(&self) -> &'static str {
                match self {
                    $( Call::$name(..) => stringify!($name), )*
                    $( Call::$pname(..) => stringify!($pname), )*
                }
            }

            pub fn access(&self) -> Access {
                match self {
                    $( Call::$name(..) => Access::$access, )*
                    $( Call::$pname(..) => Access::$paccess, )*
                }
            }

            /// The JSON argument Fabric carries as the second argument: public, written into the block.
            pub fn argument(&self) -> Result<String> {
                let json = match self {
                    $( Call::$name(a) => serde_json::to_string(a), )*
                    $( Call::$pname(a, _) => serde_json::to_string(a), )*
                };
                json.map_err(|e| Refusal::internal(format!("encoding the {} argument: {e}", self.name())))
            }

            /// The phase a call with a private input writes: a peer of each of its participant
            /// orgs must endorse it (each keeps a copy, and each copy takes its org's endorsement).
            pub fn private_phase(&self) -> Option<&PhaseRef> {
                match self {
                    $( Call::$pname(a, _) => Some(a), )*
                    _ => None,
                }
            }

            /// The transient map: the private input, if the function takes one.
            pub fn transient(&self) -> Result<Transient> {
                match self {
                    $( Call::$name(..) => Ok(Transient::new()), )*
                    $( Call::$pname(_, p) => p.encode(), )*
                }
            }

            /// A call from Fabric's arguments and the transient map (`transient` reads one key);
            /// a bad name, argument or private input, or a private input the function does not
            /// take, is a `bad_request`.
            pub fn parse<'a>(name: &str, arg: &[u8], transient: impl Fn(&str) -> Option<&'a [u8]>) -> Result<Self> {
                match name {
                    $( stringify!($name) => {
                        transient::refuse_others(name, &[], &transient)?;
                        Ok(Call::$name(parse_arg(name, arg)?))
                    } )*
                    $( stringify!($pname) => {
                        transient::refuse_others(name, <$private as Private>::KEYS, &transient)?;
                        Ok(Call::$pname(parse_arg(name, arg)?, <$private as Private>::decode(&transient)?))
                    } )*
                    other => Err(Refusal::bad(format!("unknown function {other:?}; one of {}", Self::NAMES.join(" ")))),
                }
            }
        }
    };
}

calls! {
    public: {
        CreateProject(NewProject) = Write,
        GetProject(IdArg) = Read,
        ListProjects(PageReq) = Read,
        AddPhase(NewPhase) = Write,
        UpdatePhase(PhaseUpdate) = Write,
        /// A participant org's approval of the change of participants waiting on the phase.
        ApprovePhaseChange(PhaseRef) = Write,
        ActivatePhase(PhaseRef) = Write,
        ClosePhase(PhaseRef) = Write,
        /// Every phase of a project, in order.
        ListPhases(ProjectArg) = Read,
        /// A version of the phase key (the current one by default): participants only.
        GetPhaseKey(KeyRef) = Read,
        GetRecord(RecordRef) = Read,
        /// A page of the phase's records (latest versions), by id.
        ListRecords(PhasePage) = Read,
        /// A page of one record's versions, oldest first.
        RecordHistory(ItemPage) = Read,
        GetFile(FileRef) = Read,
        /// A page of the phase's file anchors, by id.
        ListFiles(PhasePage) = Read,
        /// The next batch of a migrating phase's values to copy or purge, read from the answering
        /// peer's copy (or the old org set's collection): staying participants only.
        ReadMigrationBatch(BatchRef) = Read,
        /// How many of a phase's values a collection holds on the endorsing peer: an org's own check
        /// that it kept nothing after leaving (members of the collection only).
        PhaseHoldings(CollectionRef) = Read,
        /// Which record or file a transaction of the phase wrote (participants only).
        GetChange(TxRef) = Read,
        /// The caller's identity as the chaincode sees it.
        WhoAmI(NoArgs) = Read,
    }
    private: {
        /// Sets the phase's key (current version).
        SetPhaseKey(PhaseRef, NewPhaseKey) = Write,
        /// A new version of a record; its id and document are private.
        PutRecord(PhaseRef, NewRecord) = Write,
        /// Anchors an uploaded file; the anchor, with the file's id, is private.
        AnchorFile(PhaseRef, NewAnchor) = Write,
        /// Seals an anchored file's object anew under the current key version (new object key and
        /// key version); size and hash stay.
        ResealFile(PhaseRef, Reseal) = Write,
        /// Copies a batch of a migrating phase's values to the copies that lack them and purges
        /// them from the copies of orgs that left (or moves them from an old org set's
        /// collection); the batch marked last ends the migration.
        MigratePhase(PhaseRef, Batch) = Write,
    }
}

fn parse_arg<T: DeserializeOwned>(func: &str, arg: &[u8]) -> Result<T> {
    serde_json::from_slice(arg).map_err(|e| Refusal::bad(format!("{func}: argument is not the expected JSON: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    fn pid(s: &str) -> ProjectId {
        ProjectId::new(s).unwrap()
    }

    fn phase(p: &str, ph: &str) -> PhaseRef {
        PhaseRef { project: pid(p), phase: PhaseId::new(ph).unwrap() }
    }

    #[test]
    fn round_trips_through_fabrics_arguments() {
        let calls = [
            Call::GetProject(IdArg { id: pid("p") }),
            Call::ListProjects(PageReq { page_size: Some(5), bookmark: "b".into() }),
            Call::ActivatePhase(phase("p", "P1")),
            Call::PutRecord(phase("p", "P1"), NewRecord { id: RecordId::new("r").unwrap(), document: b"{}".to_vec() }),
            Call::SetPhaseKey(phase("p", "P1"), NewPhaseKey::new(vec![3; 32]).unwrap()),
            Call::GetRecord(RecordRef { project: pid("p"), phase: PhaseId::new("P1").unwrap(), id: RecordId::new("r").unwrap() }),
            Call::ApprovePhaseChange(PhaseRef { project: "p".parse().unwrap(), phase: "P".parse().unwrap() }),
            Call::WhoAmI(NoArgs {}),
        ];
        for c in calls {
            let arg = c.argument().unwrap();
            let t = c.transient().unwrap();
            assert_eq!(Call::parse(c.name(), arg.as_bytes(), |k| t.get(k).map(Vec::as_slice)).unwrap(), c, "{arg}");
            if let Call::PutRecord(..) = c {
                assert!(!arg.contains("\"r\""), "a written record's id is private: {arg}");
            }
        }
        assert_eq!(Call::NAMES.len(), 24);
        assert_eq!(Call::parse("ClosePhase", br#"{"project":"p","id":"P"}"#, |_| None).unwrap().access(), Access::Write);
    }

    #[test]
    fn bad_names_arguments_and_private_inputs_are_bad_requests() {
        let key = vec![1u8; 32];
        let with_key = |k: &str| if k == "phase_key" { Some(key.as_slice()) } else { None };
        for (name, arg) in
            [("Nope", "{}"), ("GetProject", "{"), ("GetProject", r#"{"id":"p","x":1}"#), ("WhoAmI", r#"{"a":1}"#), ("GetProject", r#"{"id":"a b"}"#)]
        {
            let e = Call::parse(name, arg.as_bytes(), |_| None).unwrap_err();
            assert_eq!(e.kind, ErrorKind::BadRequest, "{name} {arg}: {e}");
        }
        let e = Call::parse("AddPhase", br#"{"project":"p","id":"P","name":"n","participants":[{"msp_id":"Org1MSP"}]}"#, with_key).unwrap_err();
        assert!(e.reason.starts_with("AddPhase takes no phase_key"), "{e}");
        let e = Call::parse("PutRecord", br#"{"project":"p","phase":"P"}"#, with_key).unwrap_err();
        assert!(e.reason.starts_with("PutRecord takes no phase_key"), "{e}");
        let e = Call::parse("SetPhaseKey", br#"{"project":"p","phase":"P"}"#, |_| None).unwrap_err();
        assert!(e.reason.contains("phase_key"), "{e}");
    }
}
