//! One battery of behaviour tests for the use-cases, run on every backend: each test body is a
//! shared `async fn(&Harness)`, and [`battery!`] instantiates all of them once per backend with
//! a fresh, migrated database and its own outbox folder. PostgreSQL runs when
//! `MOAT_TEST_POSTGRES_URL` is set (and must, with `MOAT_REQUIRE_POSTGRES=1`).

use moat_domain::{
    Action, Role,
    views::{OrgId, UserId, UserView},
};
use moat_services::{
    Db, Error, Services, Settings,
    accounts::{self, MAX_FAILURES_PER_ACCOUNT, THROTTLE_WINDOW_SECS},
    invites,
    mail::Mailer,
    tenancy::{self, Actor},
};
use moat_store::{Backend, orgs, testdb, users};
use std::path::{Path, PathBuf};

macro_rules! battery {
    ($module:ident, $backend:expr) => {
        mod $module {
            use super::*;
            battery!(@each $backend;
                sign_up_validation_errors_name_the_offending_field,
                signing_up_twice_with_the_same_address_is_refused_on_the_email_field,
                signing_in_with_the_right_password_returns_the_account,
                a_wrong_password_and_an_unknown_address_get_the_same_unauthorized_answer,
                five_failed_sign_ins_throttle_the_account_even_with_the_right_password,
                a_successful_sign_in_clears_earlier_failures,
                a_password_reset_link_works_once_and_replaces_the_password,
                a_password_reset_lifts_the_sign_in_throttle,
                a_password_reset_for_an_unknown_address_sends_nothing,
                a_too_short_new_password_does_not_use_up_the_reset_link,
                current_user_returns_the_account_while_it_exists,
                creating_an_organization_makes_the_creator_its_owner,
                only_an_msp_can_create_client_organizations,
                an_msp_admin_cannot_create_client_organizations,
                msp_members_act_in_client_orgs_with_their_msp_role,
                a_member_of_one_org_gets_not_found_for_every_action_on_another,
                a_client_org_member_cannot_act_on_its_msp_or_sibling_clients,
                the_operator_acts_as_owner_in_every_existing_org,
                a_viewer_cannot_invite,
                an_admin_can_invite_admins_but_not_owners,
                inviting_an_existing_member_or_a_bad_address_is_refused_on_the_email_field,
                the_last_owner_cannot_be_demoted,
                the_last_owner_cannot_be_removed,
                only_owners_change_roles_or_remove_others_but_anyone_may_leave,
                an_invitation_mails_a_link_whose_preview_shows_org_email_and_role,
                accepting_with_a_new_account_creates_the_account_and_membership,
                an_invitation_link_works_only_once,
                accept_as_refuses_a_signed_in_user_with_another_address,
                a_revoked_invitation_link_no_longer_works,
                reinviting_an_address_invalidates_the_first_link,
                org_detail_shows_pending_invites_only_to_those_who_may_invite,
                the_audit_log_records_invites_acceptances_and_role_changes,
                admins_and_viewers_cannot_read_the_audit_log,
                audit_logs_stay_within_their_org,
                operator_create_org_refuses_a_non_msp_parent,
                operator_find_org_finds_by_id_and_by_unique_name,
                operator_find_org_reports_ambiguous_and_unknown_names,
                operator_create_user_adds_the_account_to_the_org,
            );
        }
    };
    (@each $backend:expr; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $name() {
                let Some(test) = testdb::fresh($backend).await else { return };
                let folder = tempfile::tempdir().expect("temp dir");
                let h = Harness::new(test.db.clone(), folder.path());
                super::$name(&h).await;
                test.db.close().await;
            }
        )*
    };
}

battery!(sqlite, Backend::Sqlite);
battery!(postgres, Backend::Postgres);

// ---------------------------------------------------------------------------------------------
// Harness

const PW: &str = "correct horse battery";
const IP: &str = "192.0.2.1";
const ALL_ACTIONS: [Action; 6] = [
    Action::Read,
    Action::ManageDomains,
    Action::InviteMembers,
    Action::ManageMembers,
    Action::ManageClients,
    Action::ReadAudit,
];

/// The services under test and the folder their mail lands in.
struct Harness {
    svc: Services,
    outbox: PathBuf,
}

/// One mail from the outbox, decoded.
#[derive(Debug)]
struct Mail {
    to: String,
    subject: String,
    body: String,
}

impl Harness {
    fn new(db: Db, folder: &Path) -> Self {
        let outbox = folder.join("outbox");
        let svc = Services::new(
            db,
            Mailer::Outbox(outbox.clone()),
            Settings {
                public_url: "http://127.0.0.1:3000".into(),
                mail_from: "Moat <moat@example.test>".into(),
                hosting: moat_services::HostingSettings::for_zone("sts.moat.test"),
                webhook_allow_private: true,
                probe: Default::default(),
            },
        );
        Self { svc, outbox }
    }

    fn db(&self) -> &Db {
        &self.svc.db
    }

    /// Every mail written so far.
    fn mails(&self) -> Vec<Mail> {
        let Ok(dir) = std::fs::read_dir(&self.outbox) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for entry in dir {
            let path = entry.expect("outbox entry").path();
            assert_eq!(path.extension().and_then(|e| e.to_str()), Some("eml"), "{path:?}");
            let raw = std::fs::read(&path).expect("read mail");
            let msg = mail_parser::MessageParser::default()
                .parse(&raw)
                .expect("parse mail");
            out.push(Mail {
                to: msg
                    .to()
                    .and_then(|a| a.first())
                    .and_then(|a| a.address())
                    .expect("recipient")
                    .to_owned(),
                subject: msg.subject().unwrap_or_default().to_owned(),
                body: msg.body_text(0).expect("text body").into_owned(),
            });
        }
        out
    }

    /// The mails addressed to `to`.
    fn mails_to(&self, to: &str) -> Vec<Mail> {
        self.mails().into_iter().filter(|m| m.to == to).collect()
    }

    /// The token of the only mail to `to` carrying a link with `path` (`/reset` or `/invite`).
    fn token_mailed_to(&self, to: &str, path: &str) -> String {
        let prefix = format!("http://127.0.0.1:3000{path}?token=");
        let tokens: Vec<String> = self
            .mails_to(to)
            .iter()
            .filter_map(|m| {
                let start = m.body.find(&prefix)? + prefix.len();
                Some(
                    m.body[start..]
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                        .collect(),
                )
            })
            .collect();
        assert_eq!(
            tokens.len(),
            1,
            "expected one {path} link mailed to {to}: {tokens:?}"
        );
        let token = tokens.into_iter().next().unwrap();
        assert_eq!(token.len(), 43, "a 256-bit token: {token}");
        token
    }
}

async fn sign_up(h: &Harness, email: &str) -> UserView {
    accounts::sign_up(&h.svc, email, PW).await.expect("sign up")
}

fn actor(user: &UserView) -> Actor {
    Actor::User(user.clone())
}

/// A user with an organization of their own.
async fn owner_of(h: &Harness, email: &str, org: &str, is_msp: bool) -> (UserView, OrgId) {
    let user = sign_up(h, email).await;
    let view = tenancy::create_org(&h.svc, &user, org, is_msp)
        .await
        .expect("create org");
    (user, view.id)
}

/// A fresh account holding `role` directly in `org` (set up through the store).
async fn member_of(h: &Harness, email: &str, org: OrgId, role: Role) -> UserView {
    let user = sign_up(h, email).await;
    orgs::upsert_member(h.db(), org, user.id, role, 0)
        .await
        .expect("add member");
    user
}

/// The ids of the organizations `user` can open, in listing order.
async fn listed_org_ids(h: &Harness, user: &UserView) -> Vec<OrgId> {
    tenancy::list_orgs(&h.svc, user)
        .await
        .unwrap()
        .iter()
        .map(|o| o.id)
        .collect()
}

async fn scope(h: &Harness, user: &UserView, org: OrgId, action: Action) -> tenancy::OrgScope {
    tenancy::authorize(&h.svc, &actor(user), org, action)
        .await
        .unwrap_or_else(|e| panic!("{} may {action:?} in org {org}: {e:?}", user.email))
}

/// The field of a validation error; panics on any other outcome.
#[track_caller]
fn field<T: std::fmt::Debug>(result: Result<T, Error>) -> &'static str {
    match result {
        Err(Error::Invalid { field, .. }) => field,
        other => panic!("expected a validation error, got {other:?}"),
    }
}

macro_rules! assert_err {
    ($result:expr, $pattern:pat) => {
        match $result {
            Err($pattern) => {}
            other => panic!("expected {}, got {other:?}", stringify!($pattern)),
        }
    };
}

async fn direct_role(h: &Harness, org: OrgId, user: UserId) -> Option<Role> {
    orgs::member_role(h.db(), org, user).await.expect("member_role")
}

async fn audit_actions(h: &Harness, org: OrgId) -> Vec<(String, String, String)> {
    let scope = tenancy::authorize(&h.svc, &Actor::Operator, org, Action::ReadAudit)
        .await
        .unwrap();
    tenancy::audit_log(&h.svc, &scope, 500)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.actor, e.action, e.detail))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Accounts

async fn sign_up_validation_errors_name_the_offending_field(h: &Harness) {
    let svc = &h.svc;
    assert_eq!(field(accounts::sign_up(svc, "not-an-address", PW).await), "email");
    assert_eq!(field(accounts::sign_up(svc, "", PW).await), "email");
    assert_eq!(
        field(accounts::sign_up(svc, "alice@example.test", "short").await),
        "password"
    );
    let long = "x".repeat(257);
    assert_eq!(
        field(accounts::sign_up(svc, "alice@example.test", &long).await),
        "password"
    );
    // Nothing was created along the way.
    assert!(
        users::find_by_email(h.db(), "alice@example.test")
            .await
            .unwrap()
            .is_none()
    );
}

async fn signing_up_twice_with_the_same_address_is_refused_on_the_email_field(h: &Harness) {
    let alice = accounts::sign_up(&h.svc, "  Alice@Example.TEST ", PW)
        .await
        .unwrap();
    assert_eq!(alice.email, "alice@example.test");
    assert_eq!(
        field(accounts::sign_up(&h.svc, "alice@example.test", "another password").await),
        "email"
    );
    assert_eq!(
        field(accounts::sign_up(&h.svc, "ALICE@example.test", PW).await),
        "email"
    );
    // The original password still works: the account was not overwritten.
    accounts::sign_in(&h.svc, "alice@example.test", PW, IP)
        .await
        .unwrap();
}

async fn signing_in_with_the_right_password_returns_the_account(h: &Harness) {
    let alice = sign_up(h, "alice@example.test").await;
    let signed_in = accounts::sign_in(&h.svc, " ALICE@example.test", PW, IP)
        .await
        .unwrap();
    assert_eq!(signed_in, alice);
}

async fn a_wrong_password_and_an_unknown_address_get_the_same_unauthorized_answer(h: &Harness) {
    sign_up(h, "alice@example.test").await;
    let wrong = accounts::sign_in(&h.svc, "alice@example.test", "wrong password!", IP)
        .await
        .unwrap_err();
    let unknown = accounts::sign_in(&h.svc, "nobody@example.test", PW, IP)
        .await
        .unwrap_err();
    let malformed = accounts::sign_in(&h.svc, "not an address", PW, IP)
        .await
        .unwrap_err();
    assert!(matches!(wrong, Error::Unauthorized(_)), "{wrong:?}");
    assert!(matches!(unknown, Error::Unauthorized(_)), "{unknown:?}");
    assert!(matches!(malformed, Error::Unauthorized(_)), "{malformed:?}");
    assert_eq!(wrong.to_string(), unknown.to_string());
    assert_eq!(wrong.to_string(), malformed.to_string());
}

async fn five_failed_sign_ins_throttle_the_account_even_with_the_right_password(h: &Harness) {
    sign_up(h, "alice@example.test").await;
    let bob = sign_up(h, "bob@example.test").await;
    for _ in 0..MAX_FAILURES_PER_ACCOUNT {
        assert_err!(
            accounts::sign_in(&h.svc, "alice@example.test", "wrong password!", IP).await,
            Error::Unauthorized(_)
        );
    }
    match accounts::sign_in(&h.svc, "alice@example.test", PW, IP).await {
        Err(Error::Throttled { retry_after_secs }) => assert_eq!(retry_after_secs, THROTTLE_WINDOW_SECS),
        other => panic!("expected Throttled, got {other:?}"),
    }
    // From another address too: the limit is per account.
    assert_err!(
        accounts::sign_in(&h.svc, "alice@example.test", PW, "198.51.100.7").await,
        Error::Throttled { .. }
    );
    // Other accounts on the same address are unaffected.
    assert_eq!(
        accounts::sign_in(&h.svc, "bob@example.test", PW, IP)
            .await
            .unwrap(),
        bob
    );
}

async fn a_successful_sign_in_clears_earlier_failures(h: &Harness) {
    sign_up(h, "alice@example.test").await;
    for _round in 0..2 {
        for _ in 0..MAX_FAILURES_PER_ACCOUNT - 1 {
            assert_err!(
                accounts::sign_in(&h.svc, "alice@example.test", "wrong password!", IP).await,
                Error::Unauthorized(_)
            );
        }
        // Would be the fifth failure in the window if the success had not cleared the count.
        accounts::sign_in(&h.svc, "alice@example.test", PW, IP)
            .await
            .unwrap();
    }
}

async fn a_password_reset_link_works_once_and_replaces_the_password(h: &Harness) {
    let alice = sign_up(h, "alice@example.test").await;
    accounts::request_password_reset(&h.svc, "Alice@Example.test")
        .await
        .unwrap();
    let mails = h.mails_to("alice@example.test");
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert!(mails[0].subject.contains("Reset"), "{}", mails[0].subject);
    let token = h.token_mailed_to("alice@example.test", "/reset");

    let reset = accounts::reset_password(&h.svc, &token, "brand new password")
        .await
        .unwrap();
    assert_eq!(reset, alice);
    assert_err!(
        accounts::sign_in(&h.svc, "alice@example.test", PW, IP).await,
        Error::Unauthorized(_)
    );
    accounts::sign_in(&h.svc, "alice@example.test", "brand new password", IP)
        .await
        .unwrap();

    // The link is spent.
    assert_eq!(
        field(accounts::reset_password(&h.svc, &token, "third password!!").await),
        "token"
    );
    assert_eq!(
        field(accounts::reset_password(&h.svc, "made-up-token", "third password!!").await),
        "token"
    );
    accounts::sign_in(&h.svc, "alice@example.test", "brand new password", IP)
        .await
        .unwrap();
}

async fn a_password_reset_lifts_the_sign_in_throttle(h: &Harness) {
    sign_up(h, "alice@example.test").await;
    for _ in 0..MAX_FAILURES_PER_ACCOUNT {
        let _ = accounts::sign_in(&h.svc, "alice@example.test", "wrong password!", IP).await;
    }
    assert_err!(
        accounts::sign_in(&h.svc, "alice@example.test", PW, IP).await,
        Error::Throttled { .. }
    );
    accounts::request_password_reset(&h.svc, "alice@example.test")
        .await
        .unwrap();
    let token = h.token_mailed_to("alice@example.test", "/reset");
    accounts::reset_password(&h.svc, &token, "brand new password")
        .await
        .unwrap();
    accounts::sign_in(&h.svc, "alice@example.test", "brand new password", IP)
        .await
        .unwrap();
}

async fn a_password_reset_for_an_unknown_address_sends_nothing(h: &Harness) {
    sign_up(h, "alice@example.test").await;
    accounts::request_password_reset(&h.svc, "nobody@example.test")
        .await
        .unwrap();
    assert!(h.mails().is_empty());
    assert_eq!(
        field(accounts::request_password_reset(&h.svc, "nonsense").await),
        "email"
    );
    assert!(h.mails().is_empty());
}

async fn a_too_short_new_password_does_not_use_up_the_reset_link(h: &Harness) {
    sign_up(h, "alice@example.test").await;
    accounts::request_password_reset(&h.svc, "alice@example.test")
        .await
        .unwrap();
    let token = h.token_mailed_to("alice@example.test", "/reset");
    assert_eq!(
        field(accounts::reset_password(&h.svc, &token, "short").await),
        "password"
    );
    accounts::sign_in(&h.svc, "alice@example.test", PW, IP)
        .await
        .unwrap();
    accounts::reset_password(&h.svc, &token, "long enough now")
        .await
        .unwrap();
    accounts::sign_in(&h.svc, "alice@example.test", "long enough now", IP)
        .await
        .unwrap();
}

async fn current_user_returns_the_account_while_it_exists(h: &Harness) {
    let alice = sign_up(h, "alice@example.test").await;
    assert_eq!(
        accounts::current_user(&h.svc, alice.id).await.unwrap(),
        Some(alice.clone())
    );
    assert_eq!(
        accounts::current_user(&h.svc, UserId(alice.id.0 + 1000))
            .await
            .unwrap(),
        None
    );
}

// ---------------------------------------------------------------------------------------------
// Organizations and authorization

async fn creating_an_organization_makes_the_creator_its_owner(h: &Harness) {
    let alice = sign_up(h, "alice@example.test").await;
    let view = tenancy::create_org(&h.svc, &alice, "  Acme   Inc ", false)
        .await
        .unwrap();
    assert_eq!(view.name, "Acme Inc");
    assert_eq!(view.role, Role::Owner);
    assert!(!view.via_msp && !view.is_msp);
    assert_eq!(direct_role(h, view.id, alice.id).await, Some(Role::Owner));

    let listed = tenancy::list_orgs(&h.svc, &alice).await.unwrap();
    assert_eq!(listed, vec![view.clone()]);
    let scope = scope(h, &alice, view.id, Action::ManageMembers).await;
    let detail = tenancy::org_detail(&h.svc, &scope).await.unwrap();
    let members: Vec<(&str, Role)> = detail
        .members
        .iter()
        .map(|m| (m.email.as_str(), m.role))
        .collect();
    assert_eq!(members, [("alice@example.test", Role::Owner)]);
    assert!(
        audit_actions(h, view.id)
            .await
            .iter()
            .any(|(actor, action, _)| actor == "alice@example.test" && action == "org.created")
    );

    assert_eq!(
        field(tenancy::create_org(&h.svc, &alice, "   ", false).await),
        "name"
    );
    assert_eq!(tenancy::list_orgs(&h.svc, &alice).await.unwrap().len(), 1);
}

async fn only_an_msp_can_create_client_organizations(h: &Harness) {
    let (alice, plain) = owner_of(h, "alice@example.test", "Plain", false).await;
    let s = scope(h, &alice, plain, Action::ManageClients).await;
    assert_eq!(field(tenancy::create_client(&h.svc, &s, "Client").await), "name");
    assert!(orgs::clients(h.db(), plain).await.unwrap().is_empty());

    let (bob, msp) = owner_of(h, "bob@msp.test", "Shield", true).await;
    let s = scope(h, &bob, msp, Action::ManageClients).await;
    assert_eq!(field(tenancy::create_client(&h.svc, &s, "").await), "name");
    let client = tenancy::create_client(&h.svc, &s, "Client Co").await.unwrap();
    assert_eq!(client.name, "Client Co");
    let detail = tenancy::org_detail(&h.svc, &s).await.unwrap();
    assert_eq!(detail.clients, vec![client.clone()]);
    let row = orgs::get(h.db(), client.id).await.unwrap().unwrap();
    assert_eq!(row.parent_id, Some(msp));
    assert!(!row.is_msp);
}

async fn an_msp_admin_cannot_create_client_organizations(h: &Harness) {
    let (_owner, msp) = owner_of(h, "owner@msp.test", "Shield", true).await;
    let admin = member_of(h, "admin@msp.test", msp, Role::Admin).await;
    assert_err!(
        tenancy::authorize(&h.svc, &actor(&admin), msp, Action::ManageClients).await,
        Error::Forbidden
    );
    // Nor with a scope obtained for something else.
    let read = scope(h, &admin, msp, Action::Read).await;
    assert_err!(
        tenancy::create_client(&h.svc, &read, "Sneaky").await,
        Error::Forbidden
    );
    assert!(orgs::clients(h.db(), msp).await.unwrap().is_empty());
}

async fn msp_members_act_in_client_orgs_with_their_msp_role(h: &Harness) {
    let (owner, msp) = owner_of(h, "owner@msp.test", "Shield", true).await;
    let viewer = member_of(h, "viewer@msp.test", msp, Role::Viewer).await;
    let s = scope(h, &owner, msp, Action::ManageClients).await;
    let client = tenancy::create_client(&h.svc, &s, "Client Co").await.unwrap().id;

    let as_owner = scope(h, &owner, client, Action::ManageMembers).await;
    assert_eq!(as_owner.role(), Role::Owner);
    assert!(as_owner.org().via_msp);
    assert_eq!(as_owner.org().parent.as_ref().map(|p| p.id), Some(msp));

    let as_viewer = scope(h, &viewer, client, Action::Read).await;
    assert_eq!(as_viewer.role(), Role::Viewer);
    assert!(as_viewer.org().via_msp);
    for action in [Action::ManageDomains, Action::InviteMembers, Action::ReadAudit] {
        assert_err!(
            tenancy::authorize(&h.svc, &actor(&viewer), client, action).await,
            Error::Forbidden
        );
    }
    let listed = listed_org_ids(h, &viewer).await;
    assert_eq!(listed, [msp, client]);
}

async fn a_member_of_one_org_gets_not_found_for_every_action_on_another(h: &Harness) {
    let (alice, a) = owner_of(h, "alice@a.test", "Org A", false).await;
    let (bob, b) = owner_of(h, "bob@b.test", "Org B", true).await;
    let s = scope(h, &bob, b, Action::ManageClients).await;
    let b_client = tenancy::create_client(&h.svc, &s, "B Client").await.unwrap().id;
    let missing = OrgId(a.0 + b.0 + b_client.0 + 1000);

    for action in ALL_ACTIONS {
        for target in [b, b_client, missing] {
            assert_err!(
                tenancy::authorize(&h.svc, &actor(&alice), target, action).await,
                Error::NotFound
            );
        }
        // The owners themselves pass, so the refusals above are about tenancy.
        scope(h, &alice, a, action).await;
        scope(h, &bob, b, action).await;
    }
}

async fn a_client_org_member_cannot_act_on_its_msp_or_sibling_clients(h: &Harness) {
    let (owner, msp) = owner_of(h, "owner@msp.test", "Shield", true).await;
    let s = scope(h, &owner, msp, Action::ManageClients).await;
    let client = tenancy::create_client(&h.svc, &s, "Client Co").await.unwrap().id;
    let sibling = tenancy::create_client(&h.svc, &s, "Sibling Co").await.unwrap().id;
    let carol = member_of(h, "carol@client.test", client, Role::Owner).await;

    assert_eq!(
        scope(h, &carol, client, Action::ManageMembers).await.role(),
        Role::Owner
    );
    for action in ALL_ACTIONS {
        for target in [msp, sibling] {
            assert_err!(
                tenancy::authorize(&h.svc, &actor(&carol), target, action).await,
                Error::NotFound
            );
        }
    }
    let listed = listed_org_ids(h, &carol).await;
    assert_eq!(listed, [client]);
}

async fn the_operator_acts_as_owner_in_every_existing_org(h: &Harness) {
    let msp = tenancy::operator_create_org(&h.svc, "Shield", true, None)
        .await
        .unwrap();
    let client = tenancy::operator_create_org(&h.svc, "Client Co", false, Some(msp))
        .await
        .unwrap();
    for action in ALL_ACTIONS {
        let s = tenancy::authorize(&h.svc, &Actor::Operator, client, action)
            .await
            .unwrap();
        assert_eq!(s.role(), Role::Owner);
        assert_eq!(
            s.org().parent.as_ref().map(|p| (p.id, p.name.as_str())),
            Some((msp, "Shield"))
        );
    }
    assert_err!(
        tenancy::authorize(&h.svc, &Actor::Operator, OrgId(client.0 + 1000), Action::Read).await,
        Error::NotFound
    );
}

// ---------------------------------------------------------------------------------------------
// Role rules

async fn a_viewer_cannot_invite(h: &Harness) {
    let (_owner, org) = owner_of(h, "owner@example.test", "Acme", false).await;
    let viewer = member_of(h, "viewer@example.test", org, Role::Viewer).await;
    let s = scope(h, &viewer, org, Action::Read).await;
    for role in Role::ALL {
        assert_err!(
            invites::invite(&h.svc, &s, "new@example.test", role).await,
            Error::Forbidden
        );
    }
    assert!(h.mails().is_empty());
}

async fn an_admin_can_invite_admins_but_not_owners(h: &Harness) {
    let (_owner, org) = owner_of(h, "owner@example.test", "Acme", false).await;
    let admin = member_of(h, "admin@example.test", org, Role::Admin).await;
    let s = scope(h, &admin, org, Action::InviteMembers).await;
    assert_eq!(
        field(invites::invite(&h.svc, &s, "new@example.test", Role::Owner).await),
        "role"
    );
    assert!(h.mails().is_empty());
    invites::invite(&h.svc, &s, "new@example.test", Role::Admin)
        .await
        .unwrap();
    invites::invite(&h.svc, &s, "other@example.test", Role::Viewer)
        .await
        .unwrap();
    assert_eq!(h.mails().len(), 2);
}

async fn inviting_an_existing_member_or_a_bad_address_is_refused_on_the_email_field(h: &Harness) {
    let (owner, org) = owner_of(h, "owner@example.test", "Acme", false).await;
    member_of(h, "member@example.test", org, Role::Viewer).await;
    let s = scope(h, &owner, org, Action::InviteMembers).await;
    assert_eq!(
        field(invites::invite(&h.svc, &s, "Member@Example.test", Role::Admin).await),
        "email"
    );
    assert_eq!(
        field(invites::invite(&h.svc, &s, "owner@example.test", Role::Owner).await),
        "email"
    );
    assert_eq!(
        field(invites::invite(&h.svc, &s, "no-at-sign", Role::Viewer).await),
        "email"
    );
    assert!(h.mails().is_empty());
}

async fn the_last_owner_cannot_be_demoted(h: &Harness) {
    let (alice, org) = owner_of(h, "alice@example.test", "Acme", false).await;
    let bob = member_of(h, "bob@example.test", org, Role::Admin).await;
    let s = scope(h, &alice, org, Action::ManageMembers).await;

    assert_err!(
        tenancy::change_role(&h.svc, &s, alice.id, Role::Admin).await,
        Error::Conflict(_)
    );
    assert_eq!(direct_role(h, org, alice.id).await, Some(Role::Owner));
    // Re-affirming the owner role is not a demotion.
    tenancy::change_role(&h.svc, &s, alice.id, Role::Owner)
        .await
        .unwrap();

    tenancy::change_role(&h.svc, &s, bob.id, Role::Owner)
        .await
        .unwrap();
    tenancy::change_role(&h.svc, &s, alice.id, Role::Viewer)
        .await
        .unwrap();
    assert_eq!(direct_role(h, org, alice.id).await, Some(Role::Viewer));
    let s = scope(h, &bob, org, Action::ManageMembers).await;
    assert_err!(
        tenancy::change_role(&h.svc, &s, bob.id, Role::Admin).await,
        Error::Conflict(_)
    );
    // A non-member cannot be given a role this way.
    let stranger = sign_up(h, "stranger@example.test").await;
    assert_err!(
        tenancy::change_role(&h.svc, &s, stranger.id, Role::Admin).await,
        Error::NotFound
    );
    assert_eq!(direct_role(h, org, stranger.id).await, None);
}

async fn the_last_owner_cannot_be_removed(h: &Harness) {
    let (alice, org) = owner_of(h, "alice@example.test", "Acme", false).await;
    let bob = member_of(h, "bob@example.test", org, Role::Admin).await;
    let s = scope(h, &alice, org, Action::ManageMembers).await;

    assert_err!(
        tenancy::remove_member(&h.svc, &s, alice.id).await,
        Error::Conflict(_)
    );
    assert_eq!(direct_role(h, org, alice.id).await, Some(Role::Owner));

    tenancy::change_role(&h.svc, &s, bob.id, Role::Owner)
        .await
        .unwrap();
    tenancy::remove_member(&h.svc, &s, alice.id).await.unwrap();
    assert_eq!(direct_role(h, org, alice.id).await, None);
    assert_err!(
        tenancy::authorize(&h.svc, &actor(&alice), org, Action::Read).await,
        Error::NotFound
    );
    let s = scope(h, &bob, org, Action::ManageMembers).await;
    assert_err!(
        tenancy::remove_member(&h.svc, &s, bob.id).await,
        Error::Conflict(_)
    );
}

async fn only_owners_change_roles_or_remove_others_but_anyone_may_leave(h: &Harness) {
    let (alice, org) = owner_of(h, "alice@example.test", "Acme", false).await;
    let admin = member_of(h, "admin@example.test", org, Role::Admin).await;
    let viewer = member_of(h, "viewer@example.test", org, Role::Viewer).await;

    let as_admin = scope(h, &admin, org, Action::InviteMembers).await;
    assert_err!(
        tenancy::change_role(&h.svc, &as_admin, viewer.id, Role::Admin).await,
        Error::Forbidden
    );
    assert_err!(
        tenancy::change_role(&h.svc, &as_admin, admin.id, Role::Owner).await,
        Error::Forbidden
    );
    assert_err!(
        tenancy::remove_member(&h.svc, &as_admin, viewer.id).await,
        Error::Forbidden
    );
    assert_err!(
        tenancy::remove_member(&h.svc, &as_admin, alice.id).await,
        Error::Forbidden
    );
    assert_eq!(direct_role(h, org, viewer.id).await, Some(Role::Viewer));
    assert_eq!(direct_role(h, org, admin.id).await, Some(Role::Admin));

    let as_viewer = scope(h, &viewer, org, Action::Read).await;
    tenancy::remove_member(&h.svc, &as_viewer, viewer.id)
        .await
        .unwrap();
    assert_eq!(direct_role(h, org, viewer.id).await, None);

    let as_owner = scope(h, &alice, org, Action::ManageMembers).await;
    tenancy::remove_member(&h.svc, &as_owner, admin.id).await.unwrap();
    assert_eq!(direct_role(h, org, admin.id).await, None);
    assert_err!(
        tenancy::remove_member(&h.svc, &as_owner, admin.id).await,
        Error::NotFound
    );
}

// ---------------------------------------------------------------------------------------------
// Invitations

async fn an_invitation_mails_a_link_whose_preview_shows_org_email_and_role(h: &Harness) {
    let (owner, org) = owner_of(h, "owner@example.test", "Acme Inc", false).await;
    let s = scope(h, &owner, org, Action::InviteMembers).await;
    let sent = invites::invite(&h.svc, &s, " New@Example.TEST", Role::Admin)
        .await
        .unwrap();

    let mails = h.mails_to("new@example.test");
    assert_eq!(mails.len(), 1, "{:?}", h.mails());
    assert!(mails[0].subject.contains("Acme Inc"), "{}", mails[0].subject);
    assert!(mails[0].body.contains("owner@example.test"), "{}", mails[0].body);
    let token = h.token_mailed_to("new@example.test", "/invite");
    assert_eq!(sent.link, format!("http://127.0.0.1:3000/invite?token={token}"));
    assert!(sent.delivered_to.ends_with(".eml"), "{}", sent.delivered_to);

    let preview = invites::preview(&h.svc, &token).await.unwrap();
    assert_eq!(preview.org_name, "Acme Inc");
    assert_eq!(preview.email, "new@example.test");
    assert_eq!(preview.role, Role::Admin);
    assert!(!preview.account_exists);
    // Previewing does not use the link up.
    assert_eq!(invites::preview(&h.svc, &token).await.unwrap(), preview);
    assert_eq!(field(invites::preview(&h.svc, "not-a-token").await), "token");
}

async fn accepting_with_a_new_account_creates_the_account_and_membership(h: &Harness) {
    let (owner, org) = owner_of(h, "owner@example.test", "Acme", false).await;
    let s = scope(h, &owner, org, Action::InviteMembers).await;
    invites::invite(&h.svc, &s, "new@example.test", Role::Admin)
        .await
        .unwrap();
    let token = h.token_mailed_to("new@example.test", "/invite");

    // A refused password leaves the link usable.
    assert_eq!(
        field(invites::accept_with_new_account(&h.svc, &token, "short").await),
        "password"
    );
    assert!(
        users::find_by_email(h.db(), "new@example.test")
            .await
            .unwrap()
            .is_none()
    );

    let (user, joined) = invites::accept_with_new_account(&h.svc, &token, PW)
        .await
        .unwrap();
    assert_eq!(joined, org);
    assert_eq!(user.email, "new@example.test");
    assert_eq!(
        accounts::sign_in(&h.svc, "new@example.test", PW, IP)
            .await
            .unwrap(),
        user
    );
    assert_eq!(direct_role(h, org, user.id).await, Some(Role::Admin));
    let listed = tenancy::list_orgs(&h.svc, &user).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!((listed[0].id, listed[0].role), (org, Role::Admin));
    let detail = tenancy::org_detail(&h.svc, &s).await.unwrap();
    assert!(detail.invites.is_empty(), "{:?}", detail.invites);
}

async fn an_invitation_link_works_only_once(h: &Harness) {
    let (owner, org) = owner_of(h, "owner@example.test", "Acme", false).await;
    let s = scope(h, &owner, org, Action::InviteMembers).await;
    invites::invite(&h.svc, &s, "new@example.test", Role::Viewer)
        .await
        .unwrap();
    let token = h.token_mailed_to("new@example.test", "/invite");
    let (user, _) = invites::accept_with_new_account(&h.svc, &token, PW)
        .await
        .unwrap();

    assert_eq!(field(invites::preview(&h.svc, &token).await), "token");
    assert_eq!(
        field(invites::accept_with_new_account(&h.svc, &token, "another password").await),
        "token"
    );
    assert_eq!(field(invites::accept_as(&h.svc, &user, &token).await), "token");
    assert_eq!(direct_role(h, org, user.id).await, Some(Role::Viewer));
}

async fn accept_as_refuses_a_signed_in_user_with_another_address(h: &Harness) {
    let (owner, org) = owner_of(h, "owner@example.test", "Acme", false).await;
    let bob = sign_up(h, "bob@example.test").await;
    let eve = sign_up(h, "eve@example.test").await;
    let s = scope(h, &owner, org, Action::InviteMembers).await;
    invites::invite(&h.svc, &s, "bob@example.test", Role::Admin)
        .await
        .unwrap();
    let token = h.token_mailed_to("bob@example.test", "/invite");

    assert!(invites::preview(&h.svc, &token).await.unwrap().account_exists);
    assert_eq!(field(invites::accept_as(&h.svc, &eve, &token).await), "token");
    assert_eq!(direct_role(h, org, eve.id).await, None);
    // The address has an account: accepting with a new one is refused, without using the link.
    assert_eq!(
        field(invites::accept_with_new_account(&h.svc, &token, "hijack password").await),
        "password"
    );
    accounts::sign_in(&h.svc, "bob@example.test", PW, IP)
        .await
        .unwrap();

    assert_eq!(invites::accept_as(&h.svc, &bob, &token).await.unwrap(), org);
    assert_eq!(direct_role(h, org, bob.id).await, Some(Role::Admin));
}

async fn a_revoked_invitation_link_no_longer_works(h: &Harness) {
    let (owner, org) = owner_of(h, "owner@example.test", "Acme", false).await;
    let other = tenancy::create_org(&h.svc, &owner, "Other", false)
        .await
        .unwrap()
        .id;
    let viewer = member_of(h, "viewer@example.test", org, Role::Viewer).await;
    let s = scope(h, &owner, org, Action::InviteMembers).await;
    let sent = invites::invite(&h.svc, &s, "new@example.test", Role::Admin)
        .await
        .unwrap();
    let token = h.token_mailed_to("new@example.test", "/invite");

    // Not through another organization, not by a viewer.
    let elsewhere = scope(h, &owner, other, Action::InviteMembers).await;
    assert_err!(
        invites::revoke(&h.svc, &elsewhere, sent.id).await,
        Error::NotFound
    );
    let as_viewer = scope(h, &viewer, org, Action::Read).await;
    assert_err!(
        invites::revoke(&h.svc, &as_viewer, sent.id).await,
        Error::Forbidden
    );
    invites::preview(&h.svc, &token).await.unwrap();

    invites::revoke(&h.svc, &s, sent.id).await.unwrap();
    assert_eq!(field(invites::preview(&h.svc, &token).await), "token");
    assert_eq!(
        field(invites::accept_with_new_account(&h.svc, &token, PW).await),
        "token"
    );
    assert!(
        users::find_by_email(h.db(), "new@example.test")
            .await
            .unwrap()
            .is_none()
    );
    assert_err!(invites::revoke(&h.svc, &s, sent.id).await, Error::NotFound);
}

async fn reinviting_an_address_invalidates_the_first_link(h: &Harness) {
    let (owner, org) = owner_of(h, "owner@example.test", "Acme", false).await;
    let s = scope(h, &owner, org, Action::InviteMembers).await;
    let first = invites::invite(&h.svc, &s, "new@example.test", Role::Viewer)
        .await
        .unwrap();
    let second = invites::invite(&h.svc, &s, "new@example.test", Role::Admin)
        .await
        .unwrap();
    let token = |link: &str| link.rsplit_once("token=").unwrap().1.to_owned();

    assert_eq!(
        field(invites::preview(&h.svc, &token(&first.link)).await),
        "token"
    );
    assert_eq!(
        invites::preview(&h.svc, &token(&second.link)).await.unwrap().role,
        Role::Admin
    );
    let pending = tenancy::org_detail(&h.svc, &s).await.unwrap().invites;
    let ids: Vec<_> = pending.iter().map(|i| i.id).collect();
    assert_eq!(ids, [second.id]);
}

async fn org_detail_shows_pending_invites_only_to_those_who_may_invite(h: &Harness) {
    let (owner, org) = owner_of(h, "owner@example.test", "Acme", false).await;
    let admin = member_of(h, "admin@example.test", org, Role::Admin).await;
    let viewer = member_of(h, "viewer@example.test", org, Role::Viewer).await;
    let s = scope(h, &owner, org, Action::InviteMembers).await;
    invites::invite(&h.svc, &s, "new@example.test", Role::Viewer)
        .await
        .unwrap();

    let for_admin = tenancy::org_detail(&h.svc, &scope(h, &admin, org, Action::Read).await)
        .await
        .unwrap();
    assert_eq!(for_admin.invites.len(), 1);
    assert_eq!(for_admin.invites[0].email, "new@example.test");
    assert_eq!(for_admin.invites[0].invited_by, "owner@example.test");
    let for_viewer = tenancy::org_detail(&h.svc, &scope(h, &viewer, org, Action::Read).await)
        .await
        .unwrap();
    assert!(for_viewer.invites.is_empty());
    assert_eq!(for_viewer.members.len(), 3);
}

// ---------------------------------------------------------------------------------------------
// Audit log

async fn the_audit_log_records_invites_acceptances_and_role_changes(h: &Harness) {
    let (owner, org) = owner_of(h, "owner@example.test", "Acme", false).await;
    let s = scope(h, &owner, org, Action::ReadAudit).await;
    invites::invite(&h.svc, &s, "new@example.test", Role::Admin)
        .await
        .unwrap();
    let token = h.token_mailed_to("new@example.test", "/invite");
    let (user, _) = invites::accept_with_new_account(&h.svc, &token, PW)
        .await
        .unwrap();
    tenancy::change_role(&h.svc, &s, user.id, Role::Viewer)
        .await
        .unwrap();

    let log = tenancy::audit_log(&h.svc, &s, 100).await.unwrap();
    let entries: Vec<(&str, &str)> = log
        .iter()
        .map(|e| (e.actor.as_str(), e.action.as_str()))
        .collect();
    for expected in [
        ("owner@example.test", "org.created"),
        ("owner@example.test", "member.invited"),
        ("new@example.test", "member.joined"),
        ("owner@example.test", "member.role_changed"),
    ] {
        assert!(
            entries.contains(&expected),
            "{expected:?} missing from {entries:?}"
        );
    }
    let changed = log.iter().find(|e| e.action == "member.role_changed").unwrap();
    assert!(changed.detail.contains("new@example.test"), "{}", changed.detail);
    assert!(
        changed.detail.contains("admin") && changed.detail.contains("viewer"),
        "{}",
        changed.detail
    );
    let invited = log.iter().find(|e| e.action == "member.invited").unwrap();
    assert!(invited.detail.contains("new@example.test"), "{}", invited.detail);
    // Newest first, and the limit is honoured.
    assert!(log.windows(2).all(|w| w[0].at >= w[1].at));
    assert_eq!(tenancy::audit_log(&h.svc, &s, 2).await.unwrap().len(), 2);
}

async fn admins_and_viewers_cannot_read_the_audit_log(h: &Harness) {
    let (_owner, org) = owner_of(h, "owner@example.test", "Acme", false).await;
    for (email, role) in [
        ("admin@example.test", Role::Admin),
        ("viewer@example.test", Role::Viewer),
    ] {
        let user = member_of(h, email, org, role).await;
        assert_err!(
            tenancy::authorize(&h.svc, &actor(&user), org, Action::ReadAudit).await,
            Error::Forbidden
        );
        let s = scope(h, &user, org, Action::Read).await;
        assert_err!(tenancy::audit_log(&h.svc, &s, 100).await, Error::Forbidden);
    }
}

async fn audit_logs_stay_within_their_org(h: &Harness) {
    let (alice, a) = owner_of(h, "alice@a.test", "Org A", false).await;
    let (bob, b) = owner_of(h, "bob@b.test", "Org B", false).await;
    let sb = scope(h, &bob, b, Action::InviteMembers).await;
    invites::invite(&h.svc, &sb, "secret-hire@b.test", Role::Viewer)
        .await
        .unwrap();

    let sa = scope(h, &alice, a, Action::ReadAudit).await;
    let log = tenancy::audit_log(&h.svc, &sa, 500).await.unwrap();
    assert!(!log.is_empty());
    assert!(log.iter().all(|e| e.actor == "alice@a.test"), "{log:?}");
    assert!(!log.iter().any(|e| e.detail.contains("secret-hire")));
    let b_log = audit_actions(h, b).await;
    assert!(b_log.iter().any(|(_, action, _)| action == "member.invited"));
}

// ---------------------------------------------------------------------------------------------
// Operator commands

async fn operator_create_org_refuses_a_non_msp_parent(h: &Harness) {
    let plain = tenancy::operator_create_org(&h.svc, "Plain", false, None)
        .await
        .unwrap();
    assert_eq!(
        field(tenancy::operator_create_org(&h.svc, "Child", false, Some(plain)).await),
        "parent"
    );
    assert_err!(
        tenancy::operator_create_org(&h.svc, "Orphan", false, Some(OrgId(plain.0 + 1000))).await,
        Error::NotFound
    );
    assert_eq!(
        field(tenancy::operator_create_org(&h.svc, " ", false, None).await),
        "name"
    );
    assert_eq!(tenancy::operator_list_orgs(&h.svc).await.unwrap().len(), 1);

    let msp = tenancy::operator_create_org(&h.svc, "Shield", true, None)
        .await
        .unwrap();
    // A client is never itself an MSP.
    let client = tenancy::operator_create_org(&h.svc, "Client Co", true, Some(msp))
        .await
        .unwrap();
    let row = orgs::get(h.db(), client).await.unwrap().unwrap();
    assert_eq!(row.parent_id, Some(msp));
    assert!(!row.is_msp);
    assert!(orgs::get(h.db(), msp).await.unwrap().unwrap().is_msp);
    assert!(
        audit_actions(h, msp)
            .await
            .iter()
            .any(|(actor, action, _)| actor == "cli" && action == "org.client_created")
    );
}

async fn operator_find_org_finds_by_id_and_by_unique_name(h: &Harness) {
    let acme = tenancy::operator_create_org(&h.svc, "Acme", false, None)
        .await
        .unwrap();
    let shield = tenancy::operator_create_org(&h.svc, "Shield MSP", true, None)
        .await
        .unwrap();

    let by_id = tenancy::operator_find_org(&h.svc, &acme.to_string())
        .await
        .unwrap();
    assert_eq!((by_id.id, by_id.name.as_str()), (acme, "Acme"));
    let by_name = tenancy::operator_find_org(&h.svc, " Shield MSP ").await.unwrap();
    assert_eq!(by_name.id, shield);
    assert!(by_name.is_msp);
    assert_eq!(
        tenancy::operator_find_org(&h.svc, &format!(" {shield} "))
            .await
            .unwrap()
            .id,
        shield
    );
}

async fn operator_find_org_reports_ambiguous_and_unknown_names(h: &Harness) {
    let msp_a = tenancy::operator_create_org(&h.svc, "MSP A", true, None)
        .await
        .unwrap();
    let msp_b = tenancy::operator_create_org(&h.svc, "MSP B", true, None)
        .await
        .unwrap();
    let first = tenancy::operator_create_org(&h.svc, "Client", false, Some(msp_a))
        .await
        .unwrap();
    let second = tenancy::operator_create_org(&h.svc, "Client", false, Some(msp_b))
        .await
        .unwrap();

    let ambiguous = tenancy::operator_find_org(&h.svc, "Client").await.unwrap_err();
    assert!(ambiguous.to_string().contains("2 organizations"), "{ambiguous}");
    assert_eq!(field::<()>(Err(ambiguous)), "org");
    assert_eq!(field(tenancy::operator_find_org(&h.svc, "Nobody").await), "org");
    let missing = (second.0 + 1000).to_string();
    assert_eq!(field(tenancy::operator_find_org(&h.svc, &missing).await), "org");
    // The ids still tell them apart.
    assert_eq!(
        tenancy::operator_find_org(&h.svc, &first.to_string())
            .await
            .unwrap()
            .parent_id,
        Some(msp_a)
    );
    assert_eq!(
        tenancy::operator_find_org(&h.svc, &second.to_string())
            .await
            .unwrap()
            .parent_id,
        Some(msp_b)
    );
}

async fn operator_create_user_adds_the_account_to_the_org(h: &Harness) {
    let org = tenancy::operator_create_org(&h.svc, "Acme", false, None)
        .await
        .unwrap();
    let s = tenancy::authorize(&h.svc, &Actor::Operator, org, Action::ManageMembers)
        .await
        .unwrap();
    let user = invites::operator_create_user(&h.svc, &s, "Admin@Acme.test", PW, Role::Owner)
        .await
        .unwrap();
    assert_eq!(user.email, "admin@acme.test");
    assert_eq!(direct_role(h, org, user.id).await, Some(Role::Owner));
    assert_eq!(
        accounts::sign_in(&h.svc, "admin@acme.test", PW, IP)
            .await
            .unwrap(),
        user
    );
    assert_eq!(
        field(invites::operator_create_user(&h.svc, &s, "admin@acme.test", PW, Role::Viewer).await),
        "email"
    );
    assert!(
        audit_actions(h, org)
            .await
            .iter()
            .any(|(actor, action, _)| actor == "cli" && action == "member.added")
    );
}
