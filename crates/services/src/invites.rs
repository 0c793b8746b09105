//! Invitations by e-mail: a single-use link that expires after [`INVITE_TTL_SECS`], whose
//! token is stored only as a hash. Accepting creates the account or adds the membership.

use crate::{
    Error, Result, Services,
    accounts::{hash_password, parse_password},
    mail::OutgoingMail,
    now,
    tenancy::{Actor, OrgScope},
    tokens,
};
use moat_domain::{
    Action, EmailAddress, Role,
    views::{InviteId, InvitePreview, OrgId, UserView},
};
use moat_store::{StoreError, audit, invites, users};

/// How long an invitation link works.
pub const INVITE_TTL_SECS: i64 = 7 * 24 * 60 * 60;

/// A sent invitation.
#[derive(Debug, Clone)]
pub struct SentInvite {
    /// Its id.
    pub id: InviteId,
    /// The link (also in the e-mail); shown to operators, never stored.
    pub link: String,
    /// Where the mail went (outbox file or relay).
    pub delivered_to: String,
}

/// Invites `email` to the organization with `role`. Admins invite admins and viewers; only
/// owners invite owners.
pub async fn invite(svc: &Services, scope: &OrgScope, email: &str, role: Role) -> Result<SentInvite> {
    if !scope.role().may_grant(role) {
        return Err(if scope.role().can(Action::InviteMembers) {
            Error::invalid(
                "role",
                format!("your role ({}) cannot grant the {role} role", scope.role()),
            )
        } else {
            Error::Forbidden
        });
    }
    let email = EmailAddress::parse(email).map_err(|e| Error::invalid("email", e.to_string()))?;
    if let Some(user) = users::find_by_email(&svc.db, email.as_str()).await?
        && moat_store::orgs::member_role(&svc.db, scope.org_id(), user.id)
            .await?
            .is_some()
    {
        return Err(Error::invalid("email", format!("{email} is already a member")));
    }
    let token = tokens::generate();
    let t = now();
    let invited_by = match scope.actor() {
        Actor::User(u) => Some(u.id),
        Actor::Operator => None,
    };
    let id = invites::insert(
        &svc.db,
        &invites::NewInvite {
            org: scope.org_id(),
            email: email.as_str(),
            role,
            token_hash: &tokens::hash(&token),
            invited_by,
            now: t,
            expires_at: t + INVITE_TTL_SECS,
        },
    )
    .await?;
    let link = format!("{}/invite?token={token}", svc.settings.public_url);
    let org = &scope.org().name;
    let inviter = scope.actor().audit_name();
    let mail = OutgoingMail {
        to: email.as_str().to_owned(),
        subject: format!("You are invited to {org} on Moat"),
        body: format!(
            "{inviter} invited you to join {org} on Moat as {role}.\n\n\
             Moat hosts MTA-STS and collects TLS reports, so mail to your domains travels encrypted.\n\n\
             Accept the invitation within 7 days:\n\n{link}\n\n\
             The link works once. If you did not expect it, ignore this message.\n"
        ),
    };
    let delivered_to = svc.mailer.send(&svc.settings.mail_from, &mail).await?;
    scope
        .audit(svc, "member.invited", &format!("invited {email} as {role}"))
        .await?;
    Ok(SentInvite {
        id,
        link,
        delivered_to,
    })
}

/// What a link offers, without using it up.
pub async fn preview(svc: &Services, token: &str) -> Result<InvitePreview> {
    let invite = usable(svc, token).await?;
    let account_exists = users::find_by_email(&svc.db, &invite.email).await?.is_some();
    Ok(InvitePreview {
        org_name: invite.org_name,
        email: invite.email,
        role: invite.role,
        account_exists,
    })
}

async fn usable(svc: &Services, token: &str) -> Result<invites::InviteRow> {
    invites::find_usable(&svc.db, &tokens::hash(token), now())
        .await?
        .ok_or_else(|| {
            Error::invalid(
                "token",
                "this invitation has expired, was revoked or was already used",
            )
        })
}

async fn accept(svc: &Services, invite: &invites::InviteRow, user: &UserView) -> Result<OrgId> {
    if !invites::accept(&svc.db, invite, user.id, now()).await? {
        return Err(Error::invalid(
            "token",
            "this invitation has expired, was revoked or was already used",
        ));
    }
    audit::record(
        &svc.db,
        Some(invite.org_id),
        &user.email,
        "member.joined",
        &format!("{} accepted the invitation as {}", user.email, invite.role),
        now(),
    )
    .await?;
    Ok(invite.org_id)
}

/// Accepts with a new account for the invited address.
pub async fn accept_with_new_account(
    svc: &Services,
    token: &str,
    password: &str,
) -> Result<(UserView, OrgId)> {
    let invite = usable(svc, token).await?;
    let password = parse_password(password)?;
    let hash = hash_password(&password).await?;
    let id = users::insert(&svc.db, &invite.email, &hash, now())
        .await
        .map_err(|e| match e {
            StoreError::Conflict => Error::invalid(
                "password",
                "an account with this address exists; sign in to accept",
            ),
            other => other.into(),
        })?;
    let user = UserView {
        id,
        email: invite.email.clone(),
    };
    let org = accept(svc, &invite, &user).await?;
    Ok((user, org))
}

/// Accepts as the signed-in user, whose address must be the invited one.
pub async fn accept_as(svc: &Services, user: &UserView, token: &str) -> Result<OrgId> {
    let invite = usable(svc, token).await?;
    if invite.email != user.email {
        return Err(Error::invalid(
            "token",
            format!(
                "this invitation is for {}; sign in with that address to accept it",
                invite.email
            ),
        ));
    }
    accept(svc, &invite, user).await
}

/// Revokes a pending invitation of the organization.
pub async fn revoke(svc: &Services, scope: &OrgScope, id: InviteId) -> Result<()> {
    if !scope.role().can(Action::InviteMembers) {
        return Err(Error::Forbidden);
    }
    let email = invites::revoke(&svc.db, scope.org_id(), id, now())
        .await?
        .ok_or(Error::NotFound)?;
    scope
        .audit(
            svc,
            "member.invite_revoked",
            &format!("revoked the invitation of {email}"),
        )
        .await
}

/// Operator: creates an account with a password and adds it to an organization.
pub async fn operator_create_user(
    svc: &Services,
    scope: &OrgScope,
    email: &str,
    password: &str,
    role: Role,
) -> Result<UserView> {
    let email = EmailAddress::parse(email).map_err(|e| Error::invalid("email", e.to_string()))?;
    let password = parse_password(password)?;
    let hash = hash_password(&password).await?;
    let t = now();
    let id = match users::insert(&svc.db, email.as_str(), &hash, t).await {
        Ok(id) => id,
        Err(StoreError::Conflict) => {
            return Err(Error::invalid(
                "email",
                format!("{email} already has an account; invite it instead"),
            ));
        }
        Err(e) => return Err(e.into()),
    };
    moat_store::orgs::upsert_member(&svc.db, scope.org_id(), id, role, t).await?;
    scope
        .audit(svc, "member.added", &format!("added {email} as {role}"))
        .await?;
    Ok(UserView {
        id,
        email: email.as_str().to_owned(),
    })
}
