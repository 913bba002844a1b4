//! The `subscribe` and `expect_event` steps (wired to src/realtime in issue 5).

use super::steps::{StepContext, StepFailure, StepOutcome};
use crate::flowfile::ast::{ExpectEventStep, SubscribeStep};

pub async fn subscribe(_ctx: &mut StepContext<'_>, _s: &SubscribeStep) -> Result<StepOutcome, StepFailure> {
    Err(StepFailure {
        summary: "subscribe".into(),
        message: "realtime steps are not available in this build yet".into(),
        infrastructure: false,
    })
}

pub async fn expect_event(_ctx: &mut StepContext<'_>, _s: &ExpectEventStep) -> Result<StepOutcome, StepFailure> {
    Err(StepFailure {
        summary: "expect_event".into(),
        message: "realtime steps are not available in this build yet".into(),
        infrastructure: false,
    })
}
