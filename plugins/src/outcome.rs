//! Turning what a guest call produced into a step outcome: output checks, and naming why
//! a call failed (denied, deadline, memory, fuel, trap) from the store's flags.

use serde_json::Value;
use wasmtime::Trap;

use crate::error::{FailureKind, StepFailure};
use crate::limits::Limits;
use crate::state::{DeadlineExceeded, StoreState};

pub(crate) fn output(name: &str, out: &str, limits: &Limits) -> Result<Value, StepFailure> {
    if out.len() > limits.max_output_bytes {
        return Err(StepFailure::new(
            FailureKind::OutputTooLarge,
            format!(
                "plugin {name} returned {} bytes of output, over the step's cap of {} bytes (limits.max_output_bytes)",
                out.len(),
                limits.max_output_bytes
            ),
        ));
    }
    serde_json::from_str(out).map_err(|e| {
        StepFailure::new(
            FailureKind::InvalidOutput,
            format!("plugin {name} returned output that is not JSON: {e}"),
        )
    })
}

pub(crate) fn truncate(s: &mut String, max: usize) {
    if s.len() > max {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push_str("...");
    }
}

/// Name why a guest call failed, from the store's flags first, then the error chain.
pub(crate) fn classify(who: &str, e: &wasmtime::Error, state: &StoreState) -> StepFailure {
    if let Some(v) = &state.violation {
        return StepFailure::new(
            FailureKind::Denied {
                capability: v.capability,
            },
            format!("{who} was denied: {v}"),
        );
    }
    if state.deadline_hit || e.is::<DeadlineExceeded>() {
        return StepFailure::new(
            FailureKind::Deadline,
            format!(
                "{who} exceeded its deadline of {:?} and was stopped",
                state.limits.deadline
            ),
        );
    }
    if let Some(m) = &state.limiter.refused {
        return StepFailure::new(
            FailureKind::OutOfMemory,
            format!(
                "{who} ran out of memory: it tried to grow to {} bytes, over the step's cap of {} bytes (limits.max_memory_bytes)",
                m.wanted, m.cap
            ),
        );
    }
    match e.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => StepFailure::new(
            FailureKind::OutOfFuel,
            format!(
                "{who} ran out of fuel (budget {} units, limits.fuel)",
                state.limits.fuel.unwrap_or(u64::MAX)
            ),
        ),
        Some(t) => StepFailure::new(FailureKind::Trap, format!("{who} trapped: {t}")),
        None => StepFailure::new(FailureKind::Trap, format!("{who} failed: {e}")),
    }
}
