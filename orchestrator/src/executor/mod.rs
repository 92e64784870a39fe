//! The durable runbook executor. It runs on the leader only.
//!
//! For each run in state `running`, [`lead`] keeps one driver task. A driver first takes
//! the run over (`RunOp::Resume` with the leader's term: the catalog refuses journal
//! entries from older terms from then on, and if another leader had it, the journal gets
//! `Resumed`, which closes the attempts left open). Then it loops:
//!
//! 1. read the run from the catalog and ask the pure planner
//!    ([`lifeboat_runbooks::plan`]) what happens next;
//! 2. carry out the actions: `StartStep` commits `StepStarted` (its log index is the
//!    attempt's fencing token) and only then starts the effect in a task; `CancelStep`
//!    aborts the task and commits `StepFailed` (timeout or cancelled); `Record` commits
//!    the planner's decision; `WaitUntil` sets the next wake-up;
//! 3. wait for an effect to finish (commit `StepSucceeded`/`StepFailed` with the token),
//!    for the catalog to change (approvals, cancel), or for the wake-up time.
//!
//! When the planner says the run is over, the driver commits `RunOp::Finish`.
//! Deadlines are the journaled start plus the timeout, so they hold across leader
//! changes. If this node stops being leader, every driver and effect is aborted and the
//! next leader resumes the runs.

mod driver;
pub mod report;
pub mod steps;
pub use driver::lead;

pub use crate::catalog::FencingToken;

use lifeboat_runbooks::schema::{Runbook, Step};

/// The step with this id in any list of the runbook.
pub fn find_step<'a>(rb: &'a Runbook, id: &str) -> Option<&'a Step> {
    let cleanup = rb.spec.drill.iter().flat_map(|d| d.cleanup.iter());
    rb.spec
        .steps
        .iter()
        .chain(rb.spec.finally.iter())
        .chain(cleanup)
        .find(|s| s.id == id)
}
