//! Sign-up, sign-in with throttling, and password reset by e-mail.

use crate::{Error, Result, Services, mail::OutgoingMail, now, tokens};
use argon2::{
    Argon2, PasswordHash, PasswordHasher, PasswordVerifier,
    password_hash::{SaltString, rand_core::OsRng},
};
use moat_domain::{EmailAddress, Password, views::UserView};
use moat_store::{StoreError, audit, throttle, users};

/// Failed sign-ins per account within [`THROTTLE_WINDOW_SECS`] before further tries are refused.
pub const MAX_FAILURES_PER_ACCOUNT: i64 = 5;
/// Failed sign-ins per client address within the window.
pub const MAX_FAILURES_PER_IP: i64 = 30;
/// The throttling window.
pub const THROTTLE_WINDOW_SECS: i64 = 15 * 60;
/// How long a password-reset link works.
pub const RESET_TTL_SECS: i64 = 60 * 60;

/// Argon2id with the library defaults, which are OWASP's recommendation (m=19 MiB, t=2, p=1).
fn argon() -> Argon2<'static> {
    Argon2::default()
}

/// Hashes a password off the async runtime (it takes tens of milliseconds of CPU).
pub async fn hash_password(password: &Password) -> Result<String> {
    let secret = password.expose().to_owned();
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        argon()
            .hash_password(secret.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| Error::Internal(anyhow::anyhow!("hashing failed: {e}")))
    })
    .await
    .map_err(|e| Error::Internal(anyhow::Error::new(e)))?
}

/// Verifies a password against a stored PHC string off the async runtime.
async fn verify_password(password: String, phc: String) -> Result<bool> {
    tokio::task::spawn_blocking(move || {
        let parsed =
            PasswordHash::new(&phc).map_err(|e| Error::Internal(anyhow::anyhow!("bad stored hash: {e}")))?;
        Ok(argon().verify_password(password.as_bytes(), &parsed).is_ok())
    })
    .await
    .map_err(|e| Error::Internal(anyhow::Error::new(e)))?
}

/// A hash of a random password: verified against when the account does not exist, so that a
/// sign-in for an unknown address costs the same time as one for a known address.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$3Gm0hG0Zq0ZVb2Yx1m3eT8m5J4bVQx2Y3m6Yh7mQ3ZE";

fn parse_email(s: &str) -> Result<EmailAddress> {
    EmailAddress::parse(s).map_err(|e| Error::invalid("email", e.to_string()))
}

/// Parses a new password.
pub fn parse_password(s: &str) -> Result<Password> {
    Password::parse(s).map_err(|e| Error::invalid("password", e.to_string()))
}

/// Creates an account. The new user belongs to no organization yet.
pub async fn sign_up(svc: &Services, email: &str, password: &str) -> Result<UserView> {
    let email = parse_email(email)?;
    let password = parse_password(password)?;
    let hash = hash_password(&password).await?;
    let id = users::insert(&svc.db, email.as_str(), &hash, now())
        .await
        .map_err(|e| match e {
            StoreError::Conflict => {
                Error::invalid("email", "an account with this address exists; sign in instead")
            }
            other => other.into(),
        })?;
    audit::record(
        &svc.db,
        None,
        email.as_str(),
        "user.signed_up",
        "account created",
        now(),
    )
    .await?;
    Ok(UserView {
        id,
        email: email.as_str().to_owned(),
    })
}

/// Checks credentials, with throttling per account and per client address.
pub async fn sign_in(svc: &Services, email: &str, password: &str, client_ip: &str) -> Result<UserView> {
    const BAD: &str = "wrong e-mail address or password";
    let email = EmailAddress::parse(email).map_err(|_| Error::Unauthorized(BAD))?;
    let t = now();
    let (by_email, by_ip) =
        throttle::failures_since(&svc.db, email.as_str(), client_ip, t - THROTTLE_WINDOW_SECS).await?;
    if by_email >= MAX_FAILURES_PER_ACCOUNT || by_ip >= MAX_FAILURES_PER_IP {
        tracing::warn!(user.email = %email, client.ip = client_ip, "sign-in throttled for {email}");
        return Err(Error::Throttled {
            retry_after_secs: THROTTLE_WINDOW_SECS,
        });
    }
    let user = users::find_by_email(&svc.db, email.as_str()).await?;
    let phc = user
        .as_ref()
        .map_or(DUMMY_HASH, |u| u.password_hash.as_str())
        .to_owned();
    let ok = verify_password(password.to_owned(), phc).await? && user.is_some();
    let Some(user) = user.filter(|_| ok) else {
        throttle::record_failure(&svc.db, email.as_str(), client_ip, t).await?;
        return Err(Error::Unauthorized(BAD));
    };
    throttle::clear(&svc.db, email.as_str()).await?;
    // Written to every organization the user is a direct member of, so its owners see it.
    let detail = format!("signed in from {client_ip}");
    let orgs = moat_store::orgs::list_for_user(&svc.db, user.id).await?;
    let direct: Vec<_> = orgs.iter().filter(|o| !o.via_msp).map(|o| Some(o.id)).collect();
    for org in if direct.is_empty() { vec![None] } else { direct } {
        audit::record(&svc.db, org, &user.email, "user.signed_in", &detail, t).await?;
    }
    Ok(UserView {
        id: user.id,
        email: user.email,
    })
}

/// The account behind a session, if it still exists.
pub async fn current_user(svc: &Services, id: moat_domain::views::UserId) -> Result<Option<UserView>> {
    Ok(users::find(&svc.db, id).await?.map(|u| UserView {
        id: u.id,
        email: u.email,
    }))
}

/// Sends a password-reset link if the address has an account. Says nothing about whether
/// it has one: the caller shows the same message either way.
pub async fn request_password_reset(svc: &Services, email: &str) -> Result<()> {
    let email = parse_email(email)?;
    let Some(user) = users::find_by_email(&svc.db, email.as_str()).await? else {
        tracing::info!(user.email = %email, "password reset requested for unknown address {email}");
        return Ok(());
    };
    let token = tokens::generate();
    let t = now();
    users::insert_reset(&svc.db, &tokens::hash(&token), user.id, t, t + RESET_TTL_SECS).await?;
    let link = format!("{}/reset?token={token}", svc.settings.public_url);
    let mail = OutgoingMail {
        to: user.email.clone(),
        subject: "Reset your Moat password".into(),
        body: format!(
            "Someone asked to reset the password of your Moat account {email}.\n\n\
             To choose a new password, open this link within one hour:\n\n{link}\n\n\
             If it was not you, ignore this message; your password stays as it is.\n"
        ),
    };
    svc.mailer.send(&svc.settings.mail_from, &mail).await?;
    audit::record(
        &svc.db,
        None,
        &user.email,
        "user.password_reset_requested",
        "reset link sent",
        t,
    )
    .await?;
    Ok(())
}

/// Sets a new password with a reset token (single use, expiring).
pub async fn reset_password(svc: &Services, token: &str, password: &str) -> Result<UserView> {
    let password = parse_password(password)?;
    let t = now();
    let user_id = users::consume_reset(&svc.db, &tokens::hash(token), t)
        .await?
        .ok_or_else(|| {
            Error::invalid(
                "token",
                "this reset link has expired or was already used; ask for a new one",
            )
        })?;
    let hash = hash_password(&password).await?;
    users::set_password_hash(&svc.db, user_id, &hash).await?;
    let user = users::find(&svc.db, user_id).await?.ok_or(Error::NotFound)?;
    throttle::clear(&svc.db, &user.email).await?;
    audit::record(
        &svc.db,
        None,
        &user.email,
        "user.password_reset",
        "password changed with a reset link",
        t,
    )
    .await?;
    Ok(UserView {
        id: user.id,
        email: user.email,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_are_argon2id_and_verify() {
        let pw = Password::parse("correct horse battery").unwrap();
        let hash = hash_password(&pw).await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        assert!(
            verify_password("correct horse battery".into(), hash.clone())
                .await
                .unwrap()
        );
        assert!(!verify_password("wrong horse battery".into(), hash).await.unwrap());
    }

    #[tokio::test]
    async fn the_dummy_hash_parses_and_matches_nothing_typed() {
        assert!(
            !verify_password("anything at all".into(), DUMMY_HASH.into())
                .await
                .unwrap()
        );
    }
}
