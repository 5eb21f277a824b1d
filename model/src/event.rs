//! Chaincode events. Their payload is written into blocks every org keeps: public ids only (the
//! project, the phase, the transaction); which record or file changed is asked with `GetChange`.

use serde::{Deserialize, Serialize};

use crate::ids::{PhaseId, ProjectId};

macro_rules! events {
    ($( $(#[$doc:meta])* $name:ident, )*) => {
        /// Every event the chaincode sets: its name is Fabric's chaincode event name, its payload
        /// an [`EventIds`]. The gateway filters and the dashboard lists by these names (the OpenAPI
        /// document carries them as the `Event` enum).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        pub enum Event {
            $( $(#[$doc])* $name, )*
        }

        impl Event {
            /// Every event, in the order above.
            pub const ALL: &'static [Event] = &[$( Event::$name ),*];

            /// The name Fabric carries.
            pub fn name(self) -> &'static str {
                match self { $( Event::$name => stringify!($name), )* }
            }

            /// The event of a Fabric event name; `None` for a name this chaincode never sets.
            pub fn parse(name: &str) -> Option<Self> {
                match name { $( stringify!($name) => Some(Event::$name), )* _ => None }
            }
        }
    };
}

events! {
    ProjectCreated,
    PhaseAdded,
    /// Renamed, reordered or its participants changed.
    PhaseUpdated,
    PhaseActivated,
    PhaseClosed,
    /// A new version of the phase's key (its value stays in the phase's collection).
    PhaseKeySet,
    RecordPut,
    FileAnchored,
    /// An anchored file sealed anew under the current key version.
    FileResealed,
    /// A batch of a migrating phase's data moved to its new collection.
    PhaseMigrating,
    /// The last batch moved: the migration ended.
    PhaseMigrated,
    /// A change of participants that adds someone waits for the approval of the participant orgs.
    PhaseChangeProposed,
    /// A participant org approved the change waiting (the last approval makes it `PhaseUpdated`).
    PhaseChangeApproved,
}

impl Event {
    /// Whether the event wrote a record or file, whose id (private) `GetChange` tells a participant.
    pub fn writes_item(self) -> bool {
        matches!(self, Event::RecordPut | Event::FileAnchored | Event::FileResealed)
    }

    /// Whether the event changed the phase itself (its participants may have changed).
    pub fn changes_phase(self) -> bool {
        matches!(
            self,
            Event::PhaseAdded
                | Event::PhaseUpdated
                | Event::PhaseActivated
                | Event::PhaseClosed
                | Event::PhaseKeySet
                | Event::PhaseMigrating
                | Event::PhaseMigrated
                | Event::PhaseChangeProposed
                | Event::PhaseChangeApproved
        )
    }
}

impl std::fmt::Display for Event {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// An event's payload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventIds {
    pub project: ProjectId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<PhaseId>,
    pub tx_id: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_match_serde() {
        for e in Event::ALL {
            assert_eq!(Event::parse(e.name()), Some(*e));
            assert_eq!(serde_json::to_string(e).unwrap(), format!("\"{}\"", e.name()));
        }
        assert_eq!(Event::parse("Nope"), None);
        assert_eq!(Event::ALL.len(), 13);
    }
}
