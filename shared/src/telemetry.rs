//! Logging set-up, one line per function: JSON in the deployed stack (the runtime's
//! `AWS_LAMBDA_LOG_FORMAT`), text locally. Phone numbers are logged only through
//! [`crate::phone::Msisdn::masked`].

pub fn init() {
    lambda_http::tracing::init_default_subscriber();
}
