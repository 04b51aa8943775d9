//! Logins for a temporary `CODEX_HOME`.
//!
//! Codex offers its image tool only with a ChatGPT login. A live test needs one that no real
//! account backs: an `auth.json` with `auth_mode: "chatgpt"` and JWT-shaped tokens that are not
//! signed (Codex decodes their payload but never verifies a signature). The payload carries the
//! `https://api.openai.com/auth` claims Codex reads (plan type, account id, user id), and an
//! expiry ten years ahead with `last_refresh` set to now, so Codex never tries to refresh.
//! An API-key login is written the way `codex login --with-api-key` writes it. "No login" is a
//! `CODEX_HOME` without `auth.json`.
//!
//! These helpers write only under the folder they are given, which must be a temporary one.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use serde_json::json;

use crate::error::{Error, Result};

/// The ChatGPT account id the fake login carries, and that `/wham/accounts/check` reports.
pub const FAKE_ACCOUNT_ID: &str = "00000000-0000-4000-8000-00000000c0de";

const FAKE_USER_ID: &str = "user-loopback0000000000000000";
const FAKE_EMAIL: &str = "loopback@example.invalid";

/// Writes an unsigned ChatGPT login with plan `plan` (such as `"plus"`) to
/// `codex_home/auth.json`, creating the folder if needed.
pub fn write_fake_chatgpt_login(codex_home: &Path, plan: &str) -> Result<()> {
    let now = unix_now();
    let claims = json!({
        "iss": "https://auth.openai.com",
        "aud": ["app_loopback"],
        "sub": FAKE_USER_ID,
        "email": FAKE_EMAIL,
        "email_verified": true,
        "iat": now,
        "auth_time": now,
        "exp": now + 10 * 365 * 24 * 3600,
        "https://api.openai.com/profile": {"email": FAKE_EMAIL, "email_verified": true},
        "https://api.openai.com/auth": {
            "chatgpt_plan_type": plan,
            "chatgpt_account_id": FAKE_ACCOUNT_ID,
            "chatgpt_user_id": FAKE_USER_ID,
            "user_id": FAKE_USER_ID,
        },
    });
    let token = unsigned_jwt(&claims);
    let auth = json!({
        "auth_mode": "chatgpt",
        "OPENAI_API_KEY": null,
        "tokens": {
            "id_token": token,
            "access_token": token,
            "refresh_token": "rt_loopback_not_a_real_token",
            "account_id": FAKE_ACCOUNT_ID,
        },
        "last_refresh": rfc3339(now),
    });
    write_auth(codex_home, &auth)
}

/// Writes an API-key login with `key` to `codex_home/auth.json`.
pub fn write_api_key_login(codex_home: &Path, key: &str) -> Result<()> {
    write_auth(
        codex_home,
        &json!({"auth_mode": "apikey", "OPENAI_API_KEY": key}),
    )
}

fn write_auth(codex_home: &Path, auth: &serde_json::Value) -> Result<()> {
    std::fs::create_dir_all(codex_home)
        .map_err(|e| Error::context(&format!("creating {}", codex_home.display()), e))?;
    let path = codex_home.join("auth.json");
    let text =
        serde_json::to_string_pretty(auth).map_err(|e| Error::context("encoding auth.json", e))?;
    std::fs::write(&path, text)
        .map_err(|e| Error::context(&format!("writing {}", path.display()), e))
}

fn unsigned_jwt(claims: &serde_json::Value) -> String {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header = b64.encode(json!({"alg": "none", "typ": "JWT"}).to_string());
    let payload = b64.encode(claims.to_string());
    let signature = b64.encode("unsigned");
    format!("{header}.{payload}.{signature}")
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Unix seconds as RFC 3339 UTC (`2026-05-01T12:00:00Z`), by the civil-from-days algorithm.
pub fn rfc3339(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
    }

    #[test]
    fn the_token_payload_carries_the_auth_claims() {
        let dir = tempfile::tempdir().unwrap();
        write_fake_chatgpt_login(dir.path(), "plus").unwrap();
        let auth: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.path().join("auth.json")).unwrap()).unwrap();
        let token = auth["tokens"]["id_token"].as_str().unwrap();
        let payload = token.split('.').nth(1).unwrap();
        let claims: serde_json::Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(payload)
                .unwrap(),
        )
        .unwrap();
        assert_eq!(
            claims["https://api.openai.com/auth"]["chatgpt_plan_type"],
            "plus"
        );
        assert_eq!(auth["tokens"]["account_id"], FAKE_ACCOUNT_ID);
    }
}
