//! Drives a phase's migration (see `svcflow_model::migration`): reads a batch from this org's copy
//! (or an older phase's org-set collection) as a staying participant, hands it to `MigratePhase`
//! endorsed by every org whose copy it writes or purges, and goes on after it until the last
//! batch. Stopped half-way, a new run starts from the first value and skips what is done.

use svcflow_model::call::{BatchRef, PhaseRef, ProjectArg};
use svcflow_model::ids::{PhaseId, ProjectId};
use svcflow_model::migration::{Batch, Progress};
use svcflow_model::phase::{org_set, Phase, ORG_COPIES};
use svcflow_model::Call;

use crate::ledger::{self, Ledger, LedgerError, Stage, SubmitOptions};

/// What a whole run moved.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Moved {
    pub values: u64,
    pub transactions: u32,
}

/// The orgs whose peers must endorse a step: each copy written or purged takes its org's
/// endorsement (an older phase's org-set collection, all of its orgs'), and the step's public
/// progress the chaincode's policy (a majority of the channel's orgs), which the participants of
/// both sides together give on this network. A fill needs the staying and receiving orgs, not
/// the leavers (whose peers may be gone: the purge waits for them, the fill does not).
pub fn endorsing_orgs(phase: &Phase) -> Vec<String> {
    let mut orgs: Vec<&str> = org_set(&phase.participants);
    if let Some(m) = &phase.migration {
        orgs.extend(org_set(&m.participants));
        if m.receiving(phase).is_empty() {
            orgs.extend(m.purge.iter().map(|o| o.as_str()));
        }
    }
    orgs.sort_unstable();
    orgs.dedup();
    orgs.into_iter().map(str::to_owned).collect()
}

pub async fn phase(ledger: &dyn Ledger, user: &str, project: &ProjectId, phase: &PhaseId) -> Result<Phase, LedgerError> {
    let phases: Vec<Phase> = ledger::query(ledger, user, &Call::ListPhases(ProjectArg { project: project.clone() })).await?;
    svcflow_model::phase::find(phases, project, phase).map_err(|refusal| LedgerError::Refused { refusal, tx_id: None })
}

/// Moves batches as `user` until the migration ends. A step that lost a race (another driver
/// moved the same values first) is simply read again.
pub async fn run(ledger: &dyn Ledger, user: &str, project: &ProjectId, phase_id: &PhaseId) -> Result<Moved, LedgerError> {
    let at = PhaseRef { project: project.clone(), phase: phase_id.clone() };
    let mut moved = Moved::default();
    let mut lost_races = 0;
    let mut after = String::new();
    let mut track = None;
    loop {
        let ph = phase(ledger, user, project, phase_id).await?;
        let Some(m) = &ph.migration else {
            return Ok(moved);
        };
        // The fill ended and the purge begins (or the reverse, after another change): a new
        // track starts from its first key.
        let filling = m.from != ORG_COPIES || !m.receiving(&ph).is_empty();
        if track.replace(filling).is_some_and(|was| was != filling) {
            after.clear();
        }
        let orgs = endorsing_orgs(&ph);
        let from = BatchRef { project: project.clone(), phase: phase_id.clone(), after: after.clone() };
        let batch: Batch = ledger::query(ledger, user, &Call::ReadMigrationBatch(from)).await?;
        let next = batch.next.clone();
        let call = Call::MigratePhase(at.clone(), batch);
        match ledger.submit_with(user, &call, SubmitOptions { endorsers: &orgs, before_order: None }).await {
            Ok(c) => {
                let step: Progress = serde_json::from_slice(&c.result).map_err(|e| LedgerError::Unreadable {
                    what: "MigratePhase".into(),
                    tx_id: Some(c.tx_id.clone()),
                    detail: e.to_string(),
                })?;
                lost_races = 0;
                after = next;
                moved.values += step.moved;
                moved.transactions += 1;
                tracing::info!(tx_id = %c.tx_id, %project, phase = %phase_id, moved = step.moved, total = step.total, done = step.done, "migration step");
                if step.done {
                    return Ok(moved);
                }
            }
            // Invalidated by a concurrent step, or refused because a value moved meanwhile (a
            // conflict), or endorsed differently by a peer still committing the previous step:
            // nothing of this step was ordered, and the next read shows what is left.
            Err(e) if lost_races < MAX_RETRIES && retryable(&e) => {
                lost_races += 1;
                // Read again from where the migration stands on the ledger.
                after.clear();
                tracing::info!(%project, phase = %phase_id, error = %e, "migration step lost a race; reading that batch again");
                tokio::time::sleep(std::time::Duration::from_millis(100 << lost_races)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Retries of a step in a row before the run stops (a new start resumes it).
const MAX_RETRIES: u32 = 6;

fn retryable(e: &LedgerError) -> bool {
    match e {
        LedgerError::Invalidated { conflict, .. } => *conflict,
        LedgerError::Refused { refusal, .. } => refusal.kind == svcflow_model::ErrorKind::Conflict,
        // Endorsers whose answers differ (one is a block behind) fail the endorsement as a whole.
        LedgerError::Unavailable { stage: Stage::Endorse, .. } | LedgerError::Failed { stage: Stage::Endorse, .. } => true,
        _ => false,
    }
}
