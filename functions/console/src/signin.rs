//! Signing in: a user name and password checked by the user pool (Cognito's
//! `USER_PASSWORD_AUTH`), and the new password a user invited with a temporary one must choose.

use std::future::Future;

use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::types::{AuthFlowType, ChallengeNameType};

/// What an attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignedIn {
    /// The pool's ID token, the session.
    Token(String),
    /// The user signed in with a temporary password and must choose their own; `session` is
    /// the pool's handle on this attempt.
    NewPasswordRequired { session: String },
    /// Wrong user name or password (the pool does not say which), or a user who may not.
    Refused,
    /// A password the pool's rules refuse, with the pool's words.
    WeakPassword(String),
}

/// Why the pool could not answer.
#[derive(Debug, thiserror::Error)]
#[error("the user pool did not answer: {0}")]
pub struct Unreachable(pub String);

/// The user pool, as the console signs people in.
pub trait Identity: Send + Sync {
    fn sign_in(
        &self,
        username: &str,
        password: &str,
    ) -> impl Future<Output = Result<SignedIn, Unreachable>> + Send;

    fn choose_password(
        &self,
        username: &str,
        session: &str,
        new_password: &str,
    ) -> impl Future<Output = Result<SignedIn, Unreachable>> + Send;
}

/// The stack's Cognito user pool and its app client.
pub struct Cognito {
    client: Client,
    client_id: String,
}

impl Cognito {
    pub async fn from_env(client_id: &str) -> Self {
        let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        Self {
            client: Client::new(&config),
            client_id: client_id.to_owned(),
        }
    }
}

fn answer(
    result: Option<&aws_sdk_cognitoidentityprovider::types::AuthenticationResultType>,
    challenge: Option<&ChallengeNameType>,
    session: Option<&str>,
) -> SignedIn {
    if let Some(token) = result.and_then(|r| r.id_token()) {
        return SignedIn::Token(token.to_owned());
    }
    match (challenge, session) {
        (Some(ChallengeNameType::NewPasswordRequired), Some(session)) => {
            SignedIn::NewPasswordRequired {
                session: session.to_owned(),
            }
        }
        // Another challenge (MFA, ...) is not offered by this pool's client.
        _ => SignedIn::Refused,
    }
}

impl Identity for Cognito {
    async fn sign_in(&self, username: &str, password: &str) -> Result<SignedIn, Unreachable> {
        let out = self
            .client
            .initiate_auth()
            .auth_flow(AuthFlowType::UserPasswordAuth)
            .client_id(&self.client_id)
            .auth_parameters("USERNAME", username)
            .auth_parameters("PASSWORD", password)
            .send()
            .await;
        match out {
            Ok(out) => Ok(answer(
                out.authentication_result(),
                out.challenge_name(),
                out.session(),
            )),
            Err(e) => refused_or(e.into_service_error()),
        }
    }

    async fn choose_password(
        &self,
        username: &str,
        session: &str,
        new_password: &str,
    ) -> Result<SignedIn, Unreachable> {
        let out = self
            .client
            .respond_to_auth_challenge()
            .client_id(&self.client_id)
            .challenge_name(ChallengeNameType::NewPasswordRequired)
            .session(session)
            .challenge_responses("USERNAME", username)
            .challenge_responses("NEW_PASSWORD", new_password)
            .send()
            .await;
        match out {
            Ok(out) => Ok(answer(
                out.authentication_result(),
                out.challenge_name(),
                out.session(),
            )),
            Err(e) => refused_or(e.into_service_error()),
        }
    }
}

/// The pool's refusals as answers, anything else as the pool being unreachable.
fn refused_or<E>(e: E) -> Result<SignedIn, Unreachable>
where
    E: aws_sdk_cognitoidentityprovider::error::ProvideErrorMetadata + std::fmt::Display,
{
    match e.code() {
        Some(
            "NotAuthorizedException"
            | "UserNotFoundException"
            | "UserNotConfirmedException"
            | "PasswordResetRequiredException"
            | "CodeMismatchException"
            | "ExpiredCodeException",
        ) => Ok(SignedIn::Refused),
        Some("InvalidPasswordException") => Ok(SignedIn::WeakPassword(
            e.message()
                .unwrap_or("the password does not meet the rules")
                .to_owned(),
        )),
        _ => Err(Unreachable(e.to_string())),
    }
}
