//! The AWS SDK settings every function shares: the standard configuration chain
//! (`AWS_ENDPOINT_URL_DYNAMODB` and friends) with the time budgets and retries of
//! [`AwsBudget`]. Building it makes no network call.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;

use crate::config::AwsBudget;

/// The first retry waits up to this long (jittered, doubling after): DynamoDB throttling clears
/// in tens of milliseconds, and the whole operation must fit its budget.
const INITIAL_BACKOFF: Duration = Duration::from_millis(25);

pub async fn sdk_config(budget: &AwsBudget) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(budget.connect)
                .operation_attempt_timeout(budget.attempt)
                .operation_timeout(budget.operation)
                .build(),
        )
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(budget.max_attempts)
                .with_initial_backoff(INITIAL_BACKOFF)
                .with_max_backoff(budget.attempt),
        )
        .load()
        .await
}
