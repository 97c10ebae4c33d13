//! Timers for calls in progress, on EventBridge Scheduler: a call's warning before its limit is
//! a one-time schedule (`at(...)`, UTC, deleted by Scheduler once it has run), named after the
//! call in the stack's schedule group, which invokes the warning function with the warning as
//! its input, through the role Scheduler assumes for it, in the minute before the warning's
//! time ([`Scheduler::goes_off`]). No timer of our own.

use aws_sdk_scheduler::types::{
    ActionAfterCompletion, FlexibleTimeWindow, FlexibleTimeWindowMode, RetryPolicy, Target,
};

use crate::config::{AwsBudget, WarningConfig};
use crate::model::{CallWarning, TimerError};
use crate::ports::CallTimers;

/// A warning spoken later than this after its time is not spoken at all: the call may be over.
const LATE_SECONDS: i32 = 60;

/// The stack's schedule group and the warning function, on EventBridge Scheduler.
#[derive(Debug, Clone)]
pub struct Scheduler {
    client: aws_sdk_scheduler::Client,
    config: WarningConfig,
}

impl Scheduler {
    pub async fn new(config: &WarningConfig, budget: &AwsBudget) -> Self {
        Self::with_client(
            aws_sdk_scheduler::Client::new(&crate::aws::sdk_config(budget).await),
            config,
        )
    }

    pub fn with_client(client: aws_sdk_scheduler::Client, config: &WarningConfig) -> Self {
        Self {
            client,
            config: config.clone(),
        }
    }

    /// The name of a call's warning: letters, digits, `-`, `_` and `.` from its id, at most 64.
    pub fn warning_name(call_id: &str) -> String {
        let id: String = call_id
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || "-_.".contains(*c))
            .take(56)
            .collect();
        format!("warning-{id}")
    }

    /// When a warning for Unix second `at`, set at `now`, goes off: Scheduler invokes a
    /// schedule within the minute of its time (60-second precision), so it is set for the whole
    /// minute before the one `at` falls in, and goes off up to two minutes early, never late;
    /// the warning function waits for `at` itself. A warning due within two minutes goes off
    /// in the next minute, which may be up to a minute past `at`.
    pub fn goes_off(at: i64, now: i64) -> i64 {
        let before = at.div_euclid(60) * 60 - 60;
        let next_minute = (now.div_euclid(60) + 1) * 60;
        before.max(next_minute)
    }

    /// The `at(...)` expression for Unix second `at`, in UTC.
    pub fn at_expression(at: i64) -> String {
        let when = chrono::DateTime::from_timestamp(at, 0).unwrap_or_default();
        format!("at({})", when.format("%Y-%m-%dT%H:%M:%S"))
    }

    pub fn group(&self) -> &str {
        &self.config.group
    }

    pub fn client(&self) -> &aws_sdk_scheduler::Client {
        &self.client
    }
}

fn failed(e: impl std::error::Error + Send + Sync + 'static) -> TimerError {
    TimerError(Box::new(e))
}

impl CallTimers for Scheduler {
    #[tracing::instrument(skip_all, fields(call_id = %warning.call_id))]
    async fn set_warning(&self, warning: &CallWarning) -> Result<(), TimerError> {
        let input = serde_json::to_string(warning).map_err(failed)?;
        let target = Target::builder()
            .arn(&self.config.target_arn)
            .role_arn(&self.config.role_arn)
            .input(input)
            .retry_policy(
                RetryPolicy::builder()
                    .maximum_retry_attempts(2)
                    .maximum_event_age_in_seconds(LATE_SECONDS)
                    .build(),
            )
            .build()
            .map_err(failed)?;
        let window = FlexibleTimeWindow::builder()
            .mode(FlexibleTimeWindowMode::Off)
            .build()
            .map_err(failed)?;
        let sent = self
            .client
            .create_schedule()
            .name(Self::warning_name(&warning.call_id))
            .group_name(&self.config.group)
            .schedule_expression(Self::at_expression(Self::goes_off(
                warning.at,
                crate::now(),
            )))
            .schedule_expression_timezone("UTC")
            .flexible_time_window(window)
            .target(target)
            .action_after_completion(ActionAfterCompletion::Delete)
            .description("The warning before this call's limit")
            .send()
            .await;
        match sent {
            Ok(_) => Ok(()),
            // Set already: an event delivered again.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conflict_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(failed(e)),
        }
    }

    #[tracing::instrument(skip_all, fields(call_id = %call_id))]
    async fn cancel_warning(&self, call_id: &str) -> Result<(), TimerError> {
        let sent = self
            .client
            .delete_schedule()
            .name(Self::warning_name(call_id))
            .group_name(&self.config.group)
            .send()
            .await;
        match sent {
            Ok(_) => Ok(()),
            // Never set, gone off, or cancelled already.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(failed(e)),
        }
    }
}
