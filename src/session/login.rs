//! What the login read at process start allows: the policy that stops a generation before it spends
//! anything when Codex is not signed in with ChatGPT, or cannot reach its backend.

use crate::protocol::{Account, GetAccountResponse};
use crate::types::error::Error;

/// The outcome of `account/read` at process start.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum AccountCheck {
    /// Codex answered.
    Read(GetAccountResponse),
    /// `account/read` failed; from 0.160 that means the backend is unreachable, not a logout.
    Failed(String),
}

impl AccountCheck {
    /// The error that stops a generation before it spends anything, if any.
    pub(crate) fn blocking_error(&self) -> Option<Error> {
        match self {
            Self::Failed(detail) => Some(Error::BackendUnreachable { detail: detail.clone() }),
            Self::Read(read) => match &read.account {
                None if read.requires_openai_auth => Some(Error::NotSignedIn),
                None => Some(Error::ImageGenerationUnavailable {
                    reason: "Codex is configured for a model provider other than OpenAI; image generation needs a ChatGPT login".to_owned(),
                }),
                Some(Account::ApiKey(_)) => Some(Error::ApiKeyLogin),
                Some(Account::Chatgpt(_)) => None,
                Some(other) => Some(Error::ImageGenerationUnavailable {
                    reason: format!(
                        "Codex is signed in to {}, but image generation needs a ChatGPT login; run `codex login` and choose ChatGPT",
                        account_kind(other)
                    ),
                }),
            },
        }
    }
}

/// The account's `type` as Codex names it (`chatgpt`, `apiKey`, ...), for messages.
pub(crate) fn account_kind(account: &Account) -> String {
    match serde_json::to_value(account) {
        Ok(v) => v
            .get("type")
            .and_then(|t| t.as_str())
            .unwrap_or("another provider")
            .to_owned(),
        Err(_) => "another provider".to_owned(),
    }
}
