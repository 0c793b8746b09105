//! Organizations, MSP client organizations, memberships and the audit log — and the one
//! place that decides who may act where: [`authorize`].

use crate::{Error, Result, Services, now};
use moat_domain::{
    Action, OrgName, Role,
    views::{AuditEntryView, OrgDetail, OrgId, OrgView, UserId, UserView},
};
use moat_store::{audit, invites, orgs};

/// Proof that a user may perform an action in an organization. Only [`authorize`] makes one,
/// and every tenant-scoped use-case takes one, so no code path can skip the check.
#[derive(Debug, Clone)]
pub struct OrgScope {
    org: OrgView,
    actor: Actor,
}

/// Who acts: a signed-in user, or the operator through the CLI.
#[derive(Debug, Clone)]
pub enum Actor {
    /// A signed-in user.
    User(UserView),
    /// The operator (CLI): acts with owner rights everywhere.
    Operator,
}

impl Actor {
    /// The name written to the audit log.
    pub fn audit_name(&self) -> &str {
        match self {
            Actor::User(u) => &u.email,
            Actor::Operator => "cli",
        }
    }

    /// The signed-in user, if it is one.
    pub fn user_id(&self) -> Option<UserId> {
        match self {
            Actor::User(u) => Some(u.id),
            Actor::Operator => None,
        }
    }
}

impl OrgScope {
    /// The organization, with the actor's role there.
    pub fn org(&self) -> &OrgView {
        &self.org
    }
    /// The organization id.
    pub fn org_id(&self) -> OrgId {
        self.org.id
    }
    /// The actor.
    pub fn actor(&self) -> &Actor {
        &self.actor
    }
    /// The actor's effective role.
    pub fn role(&self) -> Role {
        self.org.role
    }

    /// Records an audit entry in this organization.
    pub async fn audit(&self, svc: &Services, action: &str, detail: &str) -> Result<()> {
        audit::record(
            &svc.db,
            Some(self.org.id),
            self.actor.audit_name(),
            action,
            detail,
            now(),
        )
        .await?;
        Ok(())
    }
}

/// Checks that `actor` may perform `action` in `org`. An organization the actor cannot see
/// at all is [`Error::NotFound`] — the same answer as for one that does not exist, so ids of
/// other tenants reveal nothing.
pub async fn authorize(svc: &Services, actor: &Actor, org: OrgId, action: Action) -> Result<OrgScope> {
    let view = match actor {
        Actor::User(user) => orgs::access(&svc.db, user.id, org)
            .await?
            .ok_or(Error::NotFound)?,
        Actor::Operator => {
            let row = orgs::get(&svc.db, org).await?.ok_or(Error::NotFound)?;
            let parent = match row.parent_id {
                Some(p) => orgs::get(&svc.db, p).await?.map(|p| moat_domain::views::OrgRef {
                    id: p.id,
                    name: p.name,
                }),
                None => None,
            };
            OrgView {
                id: row.id,
                name: row.name,
                is_msp: row.is_msp,
                parent,
                role: Role::Owner,
                via_msp: false,
                created_at: row.created_at,
            }
        }
    };
    if !view.role.can(action) {
        return Err(Error::Forbidden);
    }
    Ok(OrgScope {
        org: view,
        actor: actor.clone(),
    })
}

fn parse_name(name: &str) -> Result<OrgName> {
    OrgName::parse(name).map_err(|e| Error::invalid("name", e.to_string()))
}

/// Creates a top-level organization (an MSP when `is_msp`) with the user as its owner.
pub async fn create_org(svc: &Services, user: &UserView, name: &str, is_msp: bool) -> Result<OrgView> {
    let name = parse_name(name)?;
    let t = now();
    let id = orgs::insert(&svc.db, name.as_str(), is_msp, None, t).await?;
    orgs::upsert_member(&svc.db, id, user.id, Role::Owner, t).await?;
    let kind = if is_msp {
        "MSP organization"
    } else {
        "organization"
    };
    audit::record(
        &svc.db,
        Some(id),
        &user.email,
        "org.created",
        &format!("created {kind} {name}"),
        t,
    )
    .await?;
    orgs::access(&svc.db, user.id, id).await?.ok_or(Error::NotFound)
}

/// Creates a client organization under the MSP in `scope` (needs [`Action::ManageClients`]).
/// The MSP's members reach it through their MSP membership; it has no direct members yet.
pub async fn create_client(
    svc: &Services,
    scope: &OrgScope,
    name: &str,
) -> Result<moat_domain::views::OrgRef> {
    if !scope.role().can(Action::ManageClients) {
        return Err(Error::Forbidden);
    }
    if !scope.org.is_msp {
        return Err(Error::invalid(
            "name",
            "only an MSP organization can have client organizations",
        ));
    }
    let name = parse_name(name)?;
    let id = orgs::insert(&svc.db, name.as_str(), false, Some(scope.org.id), now()).await?;
    scope
        .audit(
            svc,
            "org.client_created",
            &format!("created client organization {name} (#{id})"),
        )
        .await?;
    audit::record(
        &svc.db,
        Some(id),
        scope.actor.audit_name(),
        "org.created",
        &format!("created as a client of {}", scope.org.name),
        now(),
    )
    .await?;
    Ok(moat_domain::views::OrgRef {
        id,
        name: name.as_str().to_owned(),
    })
}

/// Every organization the user can open.
pub async fn list_orgs(svc: &Services, user: &UserView) -> Result<Vec<OrgView>> {
    Ok(orgs::list_for_user(&svc.db, user.id).await?)
}

/// The organization page: members, pending invites (for those who may invite) and clients.
pub async fn org_detail(svc: &Services, scope: &OrgScope) -> Result<OrgDetail> {
    let id = scope.org.id;
    let invites = if scope.role().can(Action::InviteMembers) {
        invites::pending(&svc.db, id, now()).await?
    } else {
        Vec::new()
    };
    let clients = if scope.org.is_msp {
        orgs::clients(&svc.db, id).await?
    } else {
        Vec::new()
    };
    Ok(OrgDetail {
        org: scope.org.clone(),
        members: orgs::members(&svc.db, id).await?,
        invites,
        clients,
    })
}

/// The audit log of the organization (owners only: [`Action::ReadAudit`]).
pub async fn audit_log(svc: &Services, scope: &OrgScope, limit: i64) -> Result<Vec<AuditEntryView>> {
    if !scope.role().can(Action::ReadAudit) {
        return Err(Error::Forbidden);
    }
    Ok(audit::list(&svc.db, scope.org.id, limit.clamp(1, 500)).await?)
}

/// Changes a direct member's role (owners only). The last owner cannot be demoted.
pub async fn change_role(svc: &Services, scope: &OrgScope, member: UserId, role: Role) -> Result<()> {
    if !scope.role().can(Action::ManageMembers) {
        return Err(Error::Forbidden);
    }
    let current = orgs::member_role(&svc.db, scope.org.id, member)
        .await?
        .ok_or(Error::NotFound)?;
    if current == Role::Owner && role != Role::Owner && orgs::owner_count(&svc.db, scope.org.id).await? <= 1 {
        return Err(Error::Conflict("an organization keeps at least one owner".into()));
    }
    orgs::upsert_member(&svc.db, scope.org.id, member, role, now()).await?;
    let email = member_email(svc, member).await?;
    scope
        .audit(
            svc,
            "member.role_changed",
            &format!("{email}: {current} → {role}"),
        )
        .await
}

/// Removes a direct member (owners only; anyone may remove themselves). The last owner stays.
pub async fn remove_member(svc: &Services, scope: &OrgScope, member: UserId) -> Result<()> {
    let is_self = scope.actor.user_id() == Some(member);
    if !is_self && !scope.role().can(Action::ManageMembers) {
        return Err(Error::Forbidden);
    }
    let current = orgs::member_role(&svc.db, scope.org.id, member)
        .await?
        .ok_or(Error::NotFound)?;
    if current == Role::Owner && orgs::owner_count(&svc.db, scope.org.id).await? <= 1 {
        return Err(Error::Conflict("an organization keeps at least one owner".into()));
    }
    let email = member_email(svc, member).await?;
    orgs::remove_member(&svc.db, scope.org.id, member).await?;
    scope
        .audit(svc, "member.removed", &format!("{email} ({current}) removed"))
        .await
}

async fn member_email(svc: &Services, user: UserId) -> Result<String> {
    Ok(moat_store::users::find(&svc.db, user)
        .await?
        .map(|u| u.email)
        .unwrap_or_else(|| format!("user #{user}")))
}

/// Operator: creates an organization, optionally as a client of `parent` (which must be an MSP).
pub async fn operator_create_org(
    svc: &Services,
    name: &str,
    is_msp: bool,
    parent: Option<OrgId>,
) -> Result<OrgId> {
    let name = parse_name(name)?;
    if let Some(p) = parent {
        let parent = orgs::get(&svc.db, p).await?.ok_or(Error::NotFound)?;
        if !parent.is_msp {
            return Err(Error::invalid(
                "parent",
                format!("{} is not an MSP organization", parent.name),
            ));
        }
    }
    let id = orgs::insert(&svc.db, name.as_str(), is_msp && parent.is_none(), parent, now()).await?;
    audit::record(
        &svc.db,
        Some(id),
        "cli",
        "org.created",
        &format!("created {name} from the CLI"),
        now(),
    )
    .await?;
    if let Some(p) = parent {
        audit::record(
            &svc.db,
            Some(p),
            "cli",
            "org.client_created",
            &format!("created client organization {name} (#{id})"),
            now(),
        )
        .await?;
    }
    Ok(id)
}

/// Operator: finds an organization by id (`12`) or by exact unique name.
pub async fn operator_find_org(svc: &Services, reference: &str) -> Result<orgs::OrgRow> {
    if let Ok(id) = reference.trim().parse::<i64>()
        && let Some(row) = orgs::get(&svc.db, OrgId(id)).await?
    {
        return Ok(row);
    }
    let mut rows = orgs::find_by_name(&svc.db, reference.trim()).await?;
    match rows.len() {
        0 => Err(Error::invalid("org", format!("no organization {reference:?}"))),
        1 => Ok(rows.remove(0)),
        n => Err(Error::invalid(
            "org",
            format!("{n} organizations are named {reference:?}; use the numeric id"),
        )),
    }
}

/// Operator: every organization.
pub async fn operator_list_orgs(svc: &Services) -> Result<Vec<orgs::OrgRow>> {
    Ok(orgs::list_all(&svc.db).await?)
}
