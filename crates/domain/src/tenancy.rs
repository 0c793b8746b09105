//! Roles and what each may do. The single source of truth for permissions: the services
//! layer asks [`Role::can`] and the UI uses it only to hide controls.

use serde::{Deserialize, Serialize};
use std::{fmt, str::FromStr};

/// A member's role in an organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads everything in the organization.
    Viewer,
    /// Manages domains, policies and invites viewers and admins.
    Admin,
    /// Everything, including owners, the audit log and client organizations.
    Owner,
}

impl Role {
    /// All roles, least privileged first.
    pub const ALL: [Role; 3] = [Role::Viewer, Role::Admin, Role::Owner];

    /// The role's name as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Admin => "admin",
            Role::Owner => "owner",
        }
    }

    /// Whether this role permits `action`.
    pub fn can(self, action: Action) -> bool {
        match action {
            Action::Read => true,
            Action::ManageDomains | Action::InviteMembers => self >= Role::Admin,
            Action::ManageClients | Action::ManageMembers | Action::ReadAudit => self == Role::Owner,
        }
    }

    /// Whether a member with this role may hand out `granted` (to an invitee or on a role
    /// change): nobody grants more than they hold.
    pub fn may_grant(self, granted: Role) -> bool {
        self.can(Action::InviteMembers) && granted <= self
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "viewer" => Ok(Role::Viewer),
            "admin" => Ok(Role::Admin),
            "owner" => Ok(Role::Owner),
            _ => Err(UnknownRole(s.to_owned())),
        }
    }
}

/// A role name that is not one of owner, admin, viewer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role {0:?}: expected owner, admin or viewer")]
pub struct UnknownRole(pub String);

/// Something a member may try to do within an organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// See the organization, its domains and reports.
    Read,
    /// Add, change or remove domains and policies.
    ManageDomains,
    /// Invite people.
    InviteMembers,
    /// Change roles or remove members.
    ManageMembers,
    /// Create and manage client organizations (MSPs).
    ManageClients,
    /// Read the audit log.
    ReadAudit,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permissions_follow_the_role_ladder() {
        use Action::*;
        for (role, allowed) in [
            (Role::Viewer, vec![Read]),
            (Role::Admin, vec![Read, ManageDomains, InviteMembers]),
            (
                Role::Owner,
                vec![
                    Read,
                    ManageDomains,
                    InviteMembers,
                    ManageMembers,
                    ManageClients,
                    ReadAudit,
                ],
            ),
        ] {
            for action in [
                Read,
                ManageDomains,
                InviteMembers,
                ManageMembers,
                ManageClients,
                ReadAudit,
            ] {
                assert_eq!(role.can(action), allowed.contains(&action), "{role} {action:?}");
            }
        }
    }

    #[test]
    fn nobody_grants_more_than_they_hold() {
        assert!(Role::Owner.may_grant(Role::Owner));
        assert!(Role::Admin.may_grant(Role::Admin));
        assert!(!Role::Admin.may_grant(Role::Owner));
        assert!(!Role::Viewer.may_grant(Role::Viewer));
    }

    #[test]
    fn roles_parse_case_insensitively() {
        assert_eq!("Owner".parse::<Role>().unwrap(), Role::Owner);
        assert!("root".parse::<Role>().is_err());
    }
}
