//! One battery of behaviour tests for the data layer, run on every backend: each test body is
//! a shared `async fn(&Db)`, and [`battery!`] instantiates all of them once per backend on a
//! fresh, migrated database. PostgreSQL runs when `MOAT_TEST_POSTGRES_URL` is set (and must,
//! with `MOAT_REQUIRE_POSTGRES=1`); otherwise its half returns after a printed notice.

use moat_domain::{
    Role,
    views::{InviteId, OrgId, UserId},
};
use moat_store::{
    Backend, Db, StoreError, audit, invites,
    invites::{InviteRow, NewInvite},
    orgs, sessions, testdb, throttle, users,
};

/// A fixed "now" (unix seconds): the store takes time as a parameter, so tests control it.
const T0: i64 = 1_700_000_000;
const HOUR: i64 = 3600;

macro_rules! battery {
    ($module:ident, $backend:expr) => {
        mod $module {
            use super::*;
            battery!(@each $backend;
                the_database_answers_and_migrating_again_is_harmless,
                a_user_is_found_by_email_and_by_id,
                registering_an_email_twice_is_a_conflict,
                a_new_password_hash_replaces_the_old_one,
                a_password_reset_token_works_exactly_once,
                an_expired_password_reset_token_is_refused,
                a_direct_member_gets_their_own_role,
                msp_members_reach_client_orgs_with_their_msp_role,
                the_higher_of_direct_and_msp_roles_wins,
                a_non_msp_parent_grants_nothing,
                a_user_without_membership_has_no_access,
                list_for_user_shows_reachable_orgs_msps_first_then_by_name,
                clients_lists_only_the_msps_own_clients_by_name,
                members_lists_owners_first_then_by_email,
                member_role_and_owner_count_follow_membership_changes,
                operator_lookups_return_org_rows_by_id_name_and_in_full,
                a_new_invitation_revokes_the_earlier_pending_one_for_the_same_address,
                find_usable_skips_expired_accepted_and_revoked_invitations,
                accepting_an_invitation_twice_fails_the_second_time,
                accepting_an_expired_or_revoked_invitation_fails_and_grants_nothing,
                accepting_keeps_the_higher_of_existing_and_invited_role,
                pending_lists_only_usable_invitations_newest_first,
                revoking_with_another_orgs_id_does_nothing,
                audit_entries_are_listed_per_org_newest_first_and_limited,
                creating_a_session_with_a_taken_id_returns_false,
                sessions_are_saved_loaded_and_deleted,
                expired_sessions_are_not_loaded_and_are_purged,
                failures_are_counted_per_account_and_per_address_within_the_window,
                clearing_forgets_only_that_accounts_failures,
                purge_drops_failures_up_to_the_cutoff,
            );
        }
    };
    (@each $backend:expr; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $name() {
                let Some(test) = testdb::fresh($backend).await else { return };
                super::$name(&test.db).await;
                test.db.close().await;
            }
        )*
    };
}

battery!(sqlite, Backend::Sqlite);
battery!(postgres, Backend::Postgres);

// ---------------------------------------------------------------------------------------------
// Helpers

async fn user(db: &Db, email: &str) -> UserId {
    users::insert(db, email, "$argon2id$fake", T0)
        .await
        .expect("insert user")
}

async fn org(db: &Db, name: &str, is_msp: bool, parent: Option<OrgId>) -> OrgId {
    orgs::insert(db, name, is_msp, parent, T0)
        .await
        .expect("insert org")
}

async fn member(db: &Db, org: OrgId, user: UserId, role: Role) {
    orgs::upsert_member(db, org, user, role, T0)
        .await
        .expect("upsert member");
}

async fn role_in(db: &Db, user: UserId, org: OrgId) -> Option<(Role, bool)> {
    orgs::access(db, user, org)
        .await
        .expect("access")
        .map(|v| (v.role, v.via_msp))
}

async fn invite(db: &Db, org: OrgId, email: &str, role: Role, token_hash: &str, now: i64) -> InviteId {
    invites::insert(
        db,
        &NewInvite {
            org,
            email,
            role,
            token_hash,
            invited_by: None,
            now,
            expires_at: now + 24 * HOUR,
        },
    )
    .await
    .expect("insert invite")
}

async fn usable(db: &Db, token_hash: &str, now: i64) -> Option<InviteRow> {
    invites::find_usable(db, token_hash, now)
        .await
        .expect("find_usable")
}

// ---------------------------------------------------------------------------------------------
// Database

async fn the_database_answers_and_migrating_again_is_harmless(db: &Db) {
    db.ping().await.expect("ping");
    db.migrate().await.expect("second migration run is a no-op");
    let id = user(db, "after@example.test").await;
    assert!(users::find(db, id).await.unwrap().is_some());
}

// ---------------------------------------------------------------------------------------------
// Users and password resets

async fn a_user_is_found_by_email_and_by_id(db: &Db) {
    let alice = users::insert(db, "alice@example.test", "hash-a", T0)
        .await
        .unwrap();
    let bob = users::insert(db, "bob@example.test", "hash-b", T0).await.unwrap();
    assert_ne!(alice, bob);

    let found = users::find_by_email(db, "alice@example.test")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id, alice);
    assert_eq!(found.email, "alice@example.test");
    assert_eq!(found.password_hash, "hash-a");

    let by_id = users::find(db, bob).await.unwrap().unwrap();
    assert_eq!(by_id.email, "bob@example.test");
    assert_eq!(by_id.password_hash, "hash-b");

    assert!(
        users::find_by_email(db, "carol@example.test")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        users::find(db, UserId(alice.0 + bob.0 + 1000))
            .await
            .unwrap()
            .is_none()
    );
}

async fn registering_an_email_twice_is_a_conflict(db: &Db) {
    let first = user(db, "dup@example.test").await;
    let again = users::insert(db, "dup@example.test", "other", T0 + 1).await;
    assert!(matches!(again, Err(StoreError::Conflict)), "{again:?}");
    // The first account is untouched.
    let row = users::find_by_email(db, "dup@example.test")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.id, first);
    assert_eq!(row.password_hash, "$argon2id$fake");
}

async fn a_new_password_hash_replaces_the_old_one(db: &Db) {
    let alice = user(db, "alice@example.test").await;
    let bob = user(db, "bob@example.test").await;
    users::set_password_hash(db, alice, "new-hash").await.unwrap();
    assert_eq!(
        users::find(db, alice).await.unwrap().unwrap().password_hash,
        "new-hash"
    );
    assert_eq!(
        users::find(db, bob).await.unwrap().unwrap().password_hash,
        "$argon2id$fake"
    );
}

async fn a_password_reset_token_works_exactly_once(db: &Db) {
    let alice = user(db, "alice@example.test").await;
    users::insert_reset(db, "reset-hash", alice, T0, T0 + HOUR)
        .await
        .unwrap();
    assert_eq!(
        users::consume_reset(db, "other-hash", T0 + 1).await.unwrap(),
        None
    );
    assert_eq!(
        users::consume_reset(db, "reset-hash", T0 + 1).await.unwrap(),
        Some(alice)
    );
    assert_eq!(
        users::consume_reset(db, "reset-hash", T0 + 2).await.unwrap(),
        None
    );
}

async fn an_expired_password_reset_token_is_refused(db: &Db) {
    let alice = user(db, "alice@example.test").await;
    users::insert_reset(db, "expiring", alice, T0, T0 + HOUR)
        .await
        .unwrap();
    // Expiry is exclusive: at the expiry second the token no longer works.
    assert_eq!(
        users::consume_reset(db, "expiring", T0 + HOUR).await.unwrap(),
        None
    );
    assert_eq!(
        users::consume_reset(db, "expiring", T0 + 2 * HOUR).await.unwrap(),
        None
    );
    // A second token for the same account still works within its own lifetime.
    users::insert_reset(db, "fresh", alice, T0, T0 + 2 * HOUR)
        .await
        .unwrap();
    assert_eq!(
        users::consume_reset(db, "fresh", T0 + HOUR).await.unwrap(),
        Some(alice)
    );
}

// ---------------------------------------------------------------------------------------------
// Organizations and access

async fn a_direct_member_gets_their_own_role(db: &Db) {
    let alice = user(db, "alice@example.test").await;
    let acme = org(db, "Acme", false, None).await;
    member(db, acme, alice, Role::Admin).await;

    let view = orgs::access(db, alice, acme)
        .await
        .unwrap()
        .expect("alice sees Acme");
    assert_eq!(view.id, acme);
    assert_eq!(view.name, "Acme");
    assert!(!view.is_msp);
    assert_eq!(view.parent, None);
    assert_eq!(view.role, Role::Admin);
    assert!(!view.via_msp);
    assert_eq!(view.created_at, T0);
}

async fn msp_members_reach_client_orgs_with_their_msp_role(db: &Db) {
    let owner = user(db, "owner@msp.test").await;
    let viewer = user(db, "viewer@msp.test").await;
    let msp = org(db, "Shield MSP", true, None).await;
    let client = org(db, "Client Co", false, Some(msp)).await;
    member(db, msp, owner, Role::Owner).await;
    member(db, msp, viewer, Role::Viewer).await;

    let view = orgs::access(db, owner, client)
        .await
        .unwrap()
        .expect("MSP owner reaches client");
    assert_eq!(view.role, Role::Owner);
    assert!(view.via_msp);
    assert!(!view.is_msp);
    let parent = view.parent.expect("client has a parent");
    assert_eq!(parent.id, msp);
    assert_eq!(parent.name, "Shield MSP");

    assert_eq!(role_in(db, viewer, client).await, Some((Role::Viewer, true)));
    // In the MSP itself the role is direct.
    assert_eq!(role_in(db, owner, msp).await, Some((Role::Owner, false)));
}

async fn the_higher_of_direct_and_msp_roles_wins(db: &Db) {
    let a = user(db, "a@msp.test").await;
    let b = user(db, "b@msp.test").await;
    let msp = org(db, "MSP", true, None).await;
    let client = org(db, "Client", false, Some(msp)).await;
    // a: MSP owner, direct viewer in the client → owner through the MSP.
    member(db, msp, a, Role::Owner).await;
    member(db, client, a, Role::Viewer).await;
    // b: MSP viewer, direct admin in the client → admin, directly.
    member(db, msp, b, Role::Viewer).await;
    member(db, client, b, Role::Admin).await;

    assert_eq!(role_in(db, a, client).await, Some((Role::Owner, true)));
    assert_eq!(role_in(db, b, client).await, Some((Role::Admin, false)));

    // Equal roles count as direct.
    member(db, client, a, Role::Owner).await;
    assert_eq!(role_in(db, a, client).await, Some((Role::Owner, false)));
}

async fn a_non_msp_parent_grants_nothing(db: &Db) {
    let alice = user(db, "alice@example.test").await;
    let plain = org(db, "Plain", false, None).await;
    let child = org(db, "Child", false, Some(plain)).await;
    member(db, plain, alice, Role::Owner).await;

    assert_eq!(role_in(db, alice, plain).await, Some((Role::Owner, false)));
    assert_eq!(role_in(db, alice, child).await, None);
    let listed: Vec<OrgId> = orgs::list_for_user(db, alice)
        .await
        .unwrap()
        .iter()
        .map(|o| o.id)
        .collect();
    assert_eq!(listed, vec![plain]);
}

async fn a_user_without_membership_has_no_access(db: &Db) {
    let alice = user(db, "alice@example.test").await;
    let mallory = user(db, "mallory@example.test").await;
    let msp = org(db, "MSP", true, None).await;
    let client = org(db, "Client", false, Some(msp)).await;
    let acme = org(db, "Acme", false, None).await;
    member(db, msp, alice, Role::Owner).await;
    member(db, acme, alice, Role::Owner).await;

    for o in [msp, client, acme] {
        assert_eq!(role_in(db, mallory, o).await, None, "org {o}");
    }
    assert!(orgs::list_for_user(db, mallory).await.unwrap().is_empty());
    // An organization that does not exist is just as invisible.
    assert_eq!(
        role_in(db, alice, OrgId(msp.0 + client.0 + acme.0 + 1000)).await,
        None
    );
}

async fn list_for_user_shows_reachable_orgs_msps_first_then_by_name(db: &Db) {
    let alice = user(db, "alice@example.test").await;
    let zeta_msp = org(db, "Zeta MSP", true, None).await;
    let alpha_msp = org(db, "Alpha MSP", true, None).await;
    let client_b = org(db, "Bravo Client", false, Some(zeta_msp)).await;
    let client_a = org(db, "Able Client", false, Some(zeta_msp)).await;
    let direct = org(db, "Charlie", false, None).await;
    let foreign_msp = org(db, "Foreign MSP", true, None).await;
    let foreign_client = org(db, "Aardvark Client", false, Some(foreign_msp)).await;
    let _unrelated = org(db, "Unrelated", false, None).await;
    member(db, zeta_msp, alice, Role::Admin).await;
    member(db, alpha_msp, alice, Role::Viewer).await;
    member(db, direct, alice, Role::Owner).await;

    let list = orgs::list_for_user(db, alice).await.unwrap();
    let names: Vec<&str> = list.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(
        names,
        ["Alpha MSP", "Zeta MSP", "Able Client", "Bravo Client", "Charlie"]
    );
    let ids: Vec<OrgId> = list.iter().map(|o| o.id).collect();
    assert_eq!(ids, [alpha_msp, zeta_msp, client_a, client_b, direct]);
    assert!(!ids.contains(&foreign_client));

    let roles: Vec<(Role, bool)> = list.iter().map(|o| (o.role, o.via_msp)).collect();
    assert_eq!(
        roles,
        [
            (Role::Viewer, false),
            (Role::Admin, false),
            (Role::Admin, true),
            (Role::Admin, true),
            (Role::Owner, false)
        ]
    );
    // The list agrees with the single lookup.
    for view in &list {
        assert_eq!(
            orgs::access(db, alice, view.id).await.unwrap().as_ref(),
            Some(view)
        );
    }
}

async fn clients_lists_only_the_msps_own_clients_by_name(db: &Db) {
    let msp = org(db, "MSP", true, None).await;
    let other = org(db, "Other MSP", true, None).await;
    let b = org(db, "Bravo", false, Some(msp)).await;
    let a = org(db, "Alpha", false, Some(msp)).await;
    let _x = org(db, "Xray", false, Some(other)).await;

    let clients = orgs::clients(db, msp).await.unwrap();
    let got: Vec<(OrgId, &str)> = clients.iter().map(|c| (c.id, c.name.as_str())).collect();
    assert_eq!(got, [(a, "Alpha"), (b, "Bravo")]);
    assert!(orgs::clients(db, a).await.unwrap().is_empty());
}

async fn members_lists_owners_first_then_by_email(db: &Db) {
    let acme = org(db, "Acme", false, None).await;
    let other = org(db, "Other", false, None).await;
    let zed = user(db, "zed@example.test").await;
    let amy = user(db, "amy@example.test").await;
    let bob = user(db, "bob@example.test").await;
    let cat = user(db, "cat@example.test").await;
    let outsider = user(db, "outsider@example.test").await;
    member(db, acme, amy, Role::Viewer).await;
    member(db, acme, zed, Role::Owner).await;
    member(db, acme, cat, Role::Admin).await;
    member(db, acme, bob, Role::Owner).await;
    member(db, other, outsider, Role::Owner).await;

    let list = orgs::members(db, acme).await.unwrap();
    let got: Vec<(&str, Role)> = list.iter().map(|m| (m.email.as_str(), m.role)).collect();
    assert_eq!(
        got,
        [
            ("bob@example.test", Role::Owner),
            ("zed@example.test", Role::Owner),
            ("cat@example.test", Role::Admin),
            ("amy@example.test", Role::Viewer),
        ]
    );
    assert_eq!(list[0].user_id, bob);
    assert!(list.iter().all(|m| m.since == T0));
}

async fn member_role_and_owner_count_follow_membership_changes(db: &Db) {
    let acme = org(db, "Acme", false, None).await;
    let other = org(db, "Other", false, None).await;
    let alice = user(db, "alice@example.test").await;
    let bob = user(db, "bob@example.test").await;

    assert_eq!(orgs::member_role(db, acme, alice).await.unwrap(), None);
    assert_eq!(orgs::owner_count(db, acme).await.unwrap(), 0);

    member(db, acme, alice, Role::Owner).await;
    member(db, acme, bob, Role::Viewer).await;
    member(db, other, bob, Role::Owner).await;
    assert_eq!(
        orgs::member_role(db, acme, alice).await.unwrap(),
        Some(Role::Owner)
    );
    assert_eq!(
        orgs::member_role(db, acme, bob).await.unwrap(),
        Some(Role::Viewer)
    );
    assert_eq!(orgs::owner_count(db, acme).await.unwrap(), 1);

    // Upserting changes the role instead of adding a second row.
    member(db, acme, bob, Role::Owner).await;
    assert_eq!(orgs::member_role(db, acme, bob).await.unwrap(), Some(Role::Owner));
    assert_eq!(orgs::owner_count(db, acme).await.unwrap(), 2);
    assert_eq!(orgs::members(db, acme).await.unwrap().len(), 2);

    assert!(orgs::remove_member(db, acme, alice).await.unwrap());
    assert!(!orgs::remove_member(db, acme, alice).await.unwrap());
    assert_eq!(orgs::member_role(db, acme, alice).await.unwrap(), None);
    assert_eq!(orgs::owner_count(db, acme).await.unwrap(), 1);
    // Bob's membership elsewhere is unaffected.
    assert_eq!(
        orgs::member_role(db, other, bob).await.unwrap(),
        Some(Role::Owner)
    );
}

async fn operator_lookups_return_org_rows_by_id_name_and_in_full(db: &Db) {
    let msp = org(db, "Twin", true, None).await;
    let client = org(db, "Twin", false, Some(msp)).await;
    let solo = org(db, "Solo", false, None).await;

    let row = orgs::get(db, client).await.unwrap().unwrap();
    assert_eq!(row.name, "Twin");
    assert!(!row.is_msp);
    assert_eq!(row.parent_id, Some(msp));
    assert_eq!(row.created_at, T0);
    assert!(orgs::get(db, msp).await.unwrap().unwrap().is_msp);
    assert!(orgs::get(db, OrgId(solo.0 + 1000)).await.unwrap().is_none());

    let twins: Vec<OrgId> = orgs::find_by_name(db, "Twin")
        .await
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(twins, [msp, client]);
    assert!(orgs::find_by_name(db, "twin").await.unwrap().is_empty());

    let all: Vec<OrgId> = orgs::list_all(db).await.unwrap().iter().map(|r| r.id).collect();
    assert_eq!(all, [msp, client, solo]);
}

// ---------------------------------------------------------------------------------------------
// Invitations

async fn a_new_invitation_revokes_the_earlier_pending_one_for_the_same_address(db: &Db) {
    let acme = org(db, "Acme", false, None).await;
    let other = org(db, "Other", false, None).await;
    invite(db, acme, "new@example.test", Role::Viewer, "first", T0).await;
    invite(db, other, "new@example.test", Role::Viewer, "elsewhere", T0).await;
    invite(db, acme, "someone@example.test", Role::Viewer, "unrelated", T0).await;
    let second = invite(db, acme, "new@example.test", Role::Admin, "second", T0 + 10).await;

    assert!(
        usable(db, "first", T0 + 20).await.is_none(),
        "the first link is revoked"
    );
    let row = usable(db, "second", T0 + 20).await.expect("the new link works");
    assert_eq!(row.id, second);
    assert_eq!(row.role, Role::Admin);
    // Invitations to other orgs or other addresses are untouched.
    assert!(usable(db, "elsewhere", T0 + 20).await.is_some());
    assert!(usable(db, "unrelated", T0 + 20).await.is_some());
    let pending: Vec<InviteId> = invites::pending(db, acme, T0 + 20)
        .await
        .unwrap()
        .iter()
        .filter(|i| i.email == "new@example.test")
        .map(|i| i.id)
        .collect();
    assert_eq!(pending, [second]);
}

async fn find_usable_skips_expired_accepted_and_revoked_invitations(db: &Db) {
    let acme = org(db, "Acme", true, None).await;
    let bob = user(db, "bob@example.test").await;
    let id = invite(db, acme, "bob@example.test", Role::Admin, "tok", T0).await;

    let row = usable(db, "tok", T0 + 1)
        .await
        .expect("fresh invitation is usable");
    assert_eq!(row.id, id);
    assert_eq!(row.org_id, acme);
    assert_eq!(row.org_name, "Acme");
    assert_eq!(row.email, "bob@example.test");
    assert_eq!(row.role, Role::Admin);
    assert!(usable(db, "nope", T0 + 1).await.is_none());

    // Expired (expiry is exclusive).
    assert!(usable(db, "tok", T0 + 24 * HOUR).await.is_none());
    assert!(usable(db, "tok", T0 + 24 * HOUR - 1).await.is_some());

    // Accepted.
    assert!(invites::accept(db, &row, bob, T0 + 2).await.unwrap());
    assert!(usable(db, "tok", T0 + 3).await.is_none());

    // Revoked.
    let revoked = invite(db, acme, "carol@example.test", Role::Viewer, "tok2", T0).await;
    assert!(usable(db, "tok2", T0 + 1).await.is_some());
    assert_eq!(
        invites::revoke(db, acme, revoked, T0 + 1)
            .await
            .unwrap()
            .as_deref(),
        Some("carol@example.test")
    );
    assert!(usable(db, "tok2", T0 + 2).await.is_none());
    assert_eq!(invites::revoke(db, acme, revoked, T0 + 3).await.unwrap(), None);
}

async fn accepting_an_invitation_twice_fails_the_second_time(db: &Db) {
    let acme = org(db, "Acme", false, None).await;
    let bob = user(db, "bob@example.test").await;
    let eve = user(db, "eve@example.test").await;
    invite(db, acme, "bob@example.test", Role::Admin, "tok", T0).await;
    let row = usable(db, "tok", T0 + 1).await.unwrap();

    assert!(invites::accept(db, &row, bob, T0 + 1).await.unwrap());
    assert_eq!(orgs::member_role(db, acme, bob).await.unwrap(), Some(Role::Admin));
    // A stale copy of the row cannot be replayed, by the same or another account.
    assert!(!invites::accept(db, &row, bob, T0 + 2).await.unwrap());
    assert!(!invites::accept(db, &row, eve, T0 + 2).await.unwrap());
    assert_eq!(orgs::member_role(db, acme, eve).await.unwrap(), None);
}

async fn accepting_an_expired_or_revoked_invitation_fails_and_grants_nothing(db: &Db) {
    let acme = org(db, "Acme", false, None).await;
    let bob = user(db, "bob@example.test").await;
    let carol = user(db, "carol@example.test").await;

    invite(db, acme, "bob@example.test", Role::Admin, "tok", T0).await;
    let row = usable(db, "tok", T0 + 1).await.unwrap();
    assert!(!invites::accept(db, &row, bob, T0 + 24 * HOUR).await.unwrap());
    assert_eq!(orgs::member_role(db, acme, bob).await.unwrap(), None);

    let id = invite(db, acme, "carol@example.test", Role::Admin, "tok2", T0).await;
    let row = usable(db, "tok2", T0 + 1).await.unwrap();
    invites::revoke(db, acme, id, T0 + 2)
        .await
        .unwrap()
        .expect("revoked");
    assert!(!invites::accept(db, &row, carol, T0 + 3).await.unwrap());
    assert_eq!(orgs::member_role(db, acme, carol).await.unwrap(), None);
}

async fn accepting_keeps_the_higher_of_existing_and_invited_role(db: &Db) {
    let acme = org(db, "Acme", false, None).await;
    let admin = user(db, "admin@example.test").await;
    let viewer = user(db, "viewer@example.test").await;
    member(db, acme, admin, Role::Admin).await;
    member(db, acme, viewer, Role::Viewer).await;

    invite(db, acme, "admin@example.test", Role::Viewer, "down", T0).await;
    invite(db, acme, "viewer@example.test", Role::Owner, "up", T0).await;
    let down = usable(db, "down", T0 + 1).await.unwrap();
    let up = usable(db, "up", T0 + 1).await.unwrap();
    assert!(invites::accept(db, &down, admin, T0 + 1).await.unwrap());
    assert!(invites::accept(db, &up, viewer, T0 + 1).await.unwrap());

    assert_eq!(
        orgs::member_role(db, acme, admin).await.unwrap(),
        Some(Role::Admin)
    );
    assert_eq!(
        orgs::member_role(db, acme, viewer).await.unwrap(),
        Some(Role::Owner)
    );
    assert_eq!(orgs::members(db, acme).await.unwrap().len(), 2);
}

async fn pending_lists_only_usable_invitations_newest_first(db: &Db) {
    let acme = org(db, "Acme", false, None).await;
    let other = org(db, "Other", false, None).await;
    let owner = user(db, "owner@example.test").await;
    let bob = user(db, "bob@example.test").await;

    let by_owner = invites::insert(
        db,
        &NewInvite {
            org: acme,
            email: "first@example.test",
            role: Role::Admin,
            token_hash: "h1",
            invited_by: Some(owner),
            now: T0,
            expires_at: T0 + 24 * HOUR,
        },
    )
    .await
    .unwrap();
    let by_cli = invite(db, acme, "second@example.test", Role::Viewer, "h2", T0 + 10).await;
    let accepted = invite(db, acme, "bob@example.test", Role::Viewer, "h3", T0 + 20).await;
    let revoked = invite(db, acme, "revoked@example.test", Role::Viewer, "h4", T0 + 30).await;
    let short = invites::insert(
        db,
        &NewInvite {
            org: acme,
            email: "short@example.test",
            role: Role::Viewer,
            token_hash: "h5",
            invited_by: None,
            now: T0 + 40,
            expires_at: T0 + 50,
        },
    )
    .await
    .unwrap();
    invite(db, other, "elsewhere@example.test", Role::Viewer, "h6", T0 + 60).await;

    let row = usable(db, "h3", T0 + 21).await.unwrap();
    assert!(invites::accept(db, &row, bob, T0 + 21).await.unwrap());
    invites::revoke(db, acme, revoked, T0 + 31)
        .await
        .unwrap()
        .unwrap();

    let at = |now| async move {
        invites::pending(db, acme, now)
            .await
            .unwrap()
            .into_iter()
            .map(|i| i.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(at(T0 + 45).await, [short, by_cli, by_owner]);
    assert_eq!(at(T0 + 50).await, [by_cli, by_owner], "expired ones drop out");
    assert!(!at(T0 + 45).await.contains(&accepted));

    let list = invites::pending(db, acme, T0 + 45).await.unwrap();
    let first = list.iter().find(|i| i.id == by_owner).unwrap();
    assert_eq!(first.email, "first@example.test");
    assert_eq!(first.role, Role::Admin);
    assert_eq!(first.invited_by, "owner@example.test");
    assert_eq!(first.expires_at, T0 + 24 * HOUR);
    assert_eq!(
        list.iter().find(|i| i.id == by_cli).unwrap().invited_by,
        "operator"
    );
}

async fn revoking_with_another_orgs_id_does_nothing(db: &Db) {
    let acme = org(db, "Acme", false, None).await;
    let evil = org(db, "Evil", false, None).await;
    let id = invite(db, acme, "bob@example.test", Role::Admin, "tok", T0).await;

    assert_eq!(invites::revoke(db, evil, id, T0 + 1).await.unwrap(), None);
    assert!(usable(db, "tok", T0 + 2).await.is_some(), "still usable");
    assert_eq!(
        invites::revoke(db, acme, id, T0 + 3).await.unwrap().as_deref(),
        Some("bob@example.test")
    );
    assert!(usable(db, "tok", T0 + 4).await.is_none());
}

// ---------------------------------------------------------------------------------------------
// Audit log

async fn audit_entries_are_listed_per_org_newest_first_and_limited(db: &Db) {
    let acme = org(db, "Acme", false, None).await;
    let other = org(db, "Other", false, None).await;
    audit::record(db, Some(acme), "a@example.test", "one", "first", T0)
        .await
        .unwrap();
    audit::record(db, Some(acme), "b@example.test", "two", "second", T0 + 5)
        .await
        .unwrap();
    // Same second: the later insert is listed first.
    audit::record(db, Some(acme), "cli", "three", "third", T0 + 5)
        .await
        .unwrap();
    audit::record(db, Some(other), "x@example.test", "secret", "other org", T0 + 10)
        .await
        .unwrap();
    audit::record(db, None, "x@example.test", "user.signed_in", "no org", T0 + 10)
        .await
        .unwrap();

    let all = audit::list(db, acme, 100).await.unwrap();
    let actions: Vec<&str> = all.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["three", "two", "one"]);
    assert_eq!(all[1].actor, "b@example.test");
    assert_eq!(all[1].detail, "second");
    assert_eq!(all[1].at, T0 + 5);

    let two = audit::list(db, acme, 2).await.unwrap();
    let actions: Vec<&str> = two.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["three", "two"]);

    let theirs = audit::list(db, other, 100).await.unwrap();
    assert_eq!(theirs.len(), 1);
    assert_eq!(theirs[0].action, "secret");
}

// ---------------------------------------------------------------------------------------------
// Web sessions

async fn creating_a_session_with_a_taken_id_returns_false(db: &Db) {
    assert!(sessions::create(db, "sid", "{\"a\":1}", T0 + HOUR).await.unwrap());
    assert!(!sessions::create(db, "sid", "{\"b\":2}", T0 + HOUR).await.unwrap());
    assert_eq!(
        sessions::load(db, "sid", T0).await.unwrap().as_deref(),
        Some("{\"a\":1}")
    );
}

async fn sessions_are_saved_loaded_and_deleted(db: &Db) {
    assert_eq!(sessions::load(db, "sid", T0).await.unwrap(), None);
    sessions::save(db, "sid", "v1", T0 + HOUR).await.unwrap();
    sessions::save(db, "other", "keep", T0 + HOUR).await.unwrap();
    assert_eq!(
        sessions::load(db, "sid", T0).await.unwrap().as_deref(),
        Some("v1")
    );

    // Saving again replaces data and expiry.
    sessions::save(db, "sid", "v2", T0 + 2 * HOUR).await.unwrap();
    assert_eq!(
        sessions::load(db, "sid", T0 + HOUR + 1).await.unwrap().as_deref(),
        Some("v2")
    );

    sessions::delete(db, "sid").await.unwrap();
    assert_eq!(sessions::load(db, "sid", T0).await.unwrap(), None);
    assert_eq!(
        sessions::load(db, "other", T0).await.unwrap().as_deref(),
        Some("keep")
    );
    // Deleting an absent session is not an error.
    sessions::delete(db, "sid").await.unwrap();
}

async fn expired_sessions_are_not_loaded_and_are_purged(db: &Db) {
    sessions::save(db, "old", "x", T0).await.unwrap();
    sessions::save(db, "edge", "y", T0 + 10).await.unwrap();
    sessions::save(db, "live", "z", T0 + HOUR).await.unwrap();

    assert_eq!(
        sessions::load(db, "old", T0).await.unwrap(),
        None,
        "expiry is exclusive"
    );
    assert_eq!(
        sessions::load(db, "edge", T0).await.unwrap().as_deref(),
        Some("y")
    );

    assert_eq!(sessions::delete_expired(db, T0 + 10).await.unwrap(), 2);
    assert_eq!(sessions::delete_expired(db, T0 + 10).await.unwrap(), 0);
    assert_eq!(
        sessions::load(db, "live", T0 + 10).await.unwrap().as_deref(),
        Some("z")
    );
    // A purged id can be created afresh.
    assert!(sessions::create(db, "old", "new", T0 + HOUR).await.unwrap());
}

// ---------------------------------------------------------------------------------------------
// Sign-in throttling

async fn failures_are_counted_per_account_and_per_address_within_the_window(db: &Db) {
    throttle::record_failure(db, "alice@example.test", "10.0.0.1", T0)
        .await
        .unwrap();
    throttle::record_failure(db, "alice@example.test", "10.0.0.2", T0 + 10)
        .await
        .unwrap();
    throttle::record_failure(db, "bob@example.test", "10.0.0.1", T0 + 20)
        .await
        .unwrap();

    assert_eq!(
        throttle::failures_since(db, "alice@example.test", "10.0.0.1", T0 - 1)
            .await
            .unwrap(),
        (2, 2)
    );
    // `since` is exclusive.
    assert_eq!(
        throttle::failures_since(db, "alice@example.test", "10.0.0.1", T0)
            .await
            .unwrap(),
        (1, 1)
    );
    assert_eq!(
        throttle::failures_since(db, "carol@example.test", "10.0.0.9", T0 - 1)
            .await
            .unwrap(),
        (0, 0)
    );
}

async fn clearing_forgets_only_that_accounts_failures(db: &Db) {
    throttle::record_failure(db, "alice@example.test", "10.0.0.1", T0)
        .await
        .unwrap();
    throttle::record_failure(db, "alice@example.test", "10.0.0.1", T0 + 1)
        .await
        .unwrap();
    throttle::record_failure(db, "bob@example.test", "10.0.0.1", T0 + 2)
        .await
        .unwrap();

    throttle::clear(db, "alice@example.test").await.unwrap();
    assert_eq!(
        throttle::failures_since(db, "alice@example.test", "10.0.0.1", T0 - 1)
            .await
            .unwrap(),
        (0, 1)
    );
    assert_eq!(
        throttle::failures_since(db, "bob@example.test", "10.0.0.2", T0 - 1)
            .await
            .unwrap(),
        (1, 0)
    );
}

async fn purge_drops_failures_up_to_the_cutoff(db: &Db) {
    for at in [T0, T0 + 10, T0 + 20] {
        throttle::record_failure(db, "alice@example.test", "10.0.0.1", at)
            .await
            .unwrap();
    }
    throttle::purge(db, T0 + 10).await.unwrap();
    assert_eq!(
        throttle::failures_since(db, "alice@example.test", "10.0.0.1", 0)
            .await
            .unwrap(),
        (1, 1)
    );
}
