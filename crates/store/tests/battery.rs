//! One battery of behaviour tests for the data layer, run on every backend: each test body is
//! a shared `async fn(&Db)`, and [`battery!`] instantiates all of them once per backend on a
//! fresh, migrated database. PostgreSQL runs when `MOAT_TEST_POSTGRES_URL` is set (and must,
//! with `MOAT_REQUIRE_POSTGRES=1`); otherwise its half returns after a printed notice.

use moat_domain::{
    Role,
    views::{DomainId, InviteId, OrgId, UserId},
};
use moat_store::{
    Backend, Db, StoreError, acme, audit, domains, invites,
    invites::{InviteRow, NewInvite},
    orgs,
    reports::{
        self, BatchItem, BatchStored, NewFailure, NewPolicyResult, NewRaw, NewReport, RawInserted,
        RawOutcome, Stored,
    },
    sessions, testdb, throttle, users,
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
                a_batch_ingests_exactly_as_one_message_after_the_other,
                a_batch_larger_than_one_statement_ingests_exactly_as_one_by_one,
                of_racing_instances_exactly_one_claims_a_job_until_its_lease_ends,
                a_failed_job_counts_attempts_keeps_its_schedule_and_a_finished_one_is_gone,
                storing_a_certificate_replaces_it_and_bumps_the_generation,
                the_first_stored_acme_account_wins_and_challenges_expire,
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

// ---------------------------------------------------------------------------------------------
// Reports: batch ingest

/// A report with one policy and two failure details.
fn new_report(
    org: OrgId,
    domain: DomainId,
    report_id: &str,
    payload: &str,
    ok: i64,
    failed: i64,
) -> NewReport {
    NewReport {
        org_id: org,
        domain_id: domain,
        report_id: report_id.into(),
        dedupe_key: report_id.into(),
        organization_name: format!("Sender {}", ok % 3),
        contact_info: Some("tlsrpt@sender.test".into()),
        policy_domain: "policy.test".into(),
        start_at: T0 + (ok % 4) * 86_400,
        end_at: T0 + (ok % 4) * 86_400 + 86_399,
        success_count: ok,
        failure_count: failed,
        warnings_json: "[]".into(),
        payload_sha256: payload.into(),
        tallies: vec![("success".into(), ok), ("certificate-expired".into(), failed)],
        policies: vec![NewPolicyResult {
            policy_type: "sts".into(),
            policy_domain: Some("policy.test".into()),
            policy_string_json: "[\"version: STSv1\"]".into(),
            mx_host_json: "[\"mx.policy.test\"]".into(),
            success_count: ok,
            failure_count: failed,
            failures: vec![
                NewFailure {
                    result_type: "certificate-expired".into(),
                    sending_mta_ip: Some(format!("192.0.2.{}", ok % 250)),
                    failed_session_count: failed,
                    ..NewFailure::default()
                },
                NewFailure {
                    result_type: "starttls-not-supported".into(),
                    receiving_mx_hostname: Some(format!("mx{ok}.policy.test")),
                    ..NewFailure::default()
                },
            ],
        }],
    }
}

/// A message of a test batch: its bytes' hash (also its body and file name) and its parse.
struct Msg {
    sha: String,
    status: &'static str,
    error: Option<String>,
    org: Option<OrgId>,
    reports: Vec<NewReport>,
}

fn parsed(sha: &str, org: OrgId, reports: Vec<NewReport>) -> Msg {
    Msg {
        sha: sha.into(),
        status: "parsed",
        error: None,
        org: Some(org),
        reports,
    }
}

fn raw_of(m: &Msg) -> NewRaw<'_> {
    NewRaw {
        received_at: T0,
        channel: "import",
        file_name: Some(&m.sha),
        size: m.sha.len() as i64,
        sha256: &m.sha,
        body_gz: m.sha.as_bytes(),
        ..NewRaw::default()
    }
}

async fn ingest_batch(db: &Db, msgs: &[Msg]) -> Vec<BatchStored> {
    let items: Vec<BatchItem<'_>> = msgs
        .iter()
        .map(|m| BatchItem {
            raw: raw_of(m),
            reports: m.reports.clone(),
            status: m.status,
            error: m.error.clone(),
            org_id: m.org,
        })
        .collect();
    reports::ingest_batch(db, T0, &items).await.expect("ingest batch")
}

/// What the listeners do, message by message: store raw, then file the reports.
async fn ingest_one_by_one(db: &Db, msgs: &[Msg]) {
    for m in msgs {
        match reports::insert_raw(db, &raw_of(m)).await.expect("insert raw") {
            RawInserted::New(id) => {
                let outcome = RawOutcome {
                    status: m.status,
                    error: m.error.as_deref(),
                    org_id: m.org,
                };
                let stored = reports::store_reports(db, id, T0, &m.reports, &outcome)
                    .await
                    .expect("store reports");
                if m.status == "parsed" && stored.iter().all(|s| matches!(s, Stored::Duplicate(_))) {
                    reports::set_raw_status(db, id, "duplicate")
                        .await
                        .expect("status");
                }
            }
            RawInserted::Again { id, .. } => reports::count_redelivery(db, id).await.expect("redelivery"),
        }
    }
}

/// Everything stored, without row ids (which may differ: PostgreSQL spends sequence numbers
/// on conflicts).
async fn snapshot(db: &Db, orgs: &[OrgId]) -> Vec<String> {
    let mut out = Vec::new();
    let mut sha_of = std::collections::HashMap::new();
    for id in reports::raw_ids(db, &[], 0, 100_000).await.unwrap() {
        let (r, body) = reports::raw(db, id).await.unwrap().unwrap();
        sha_of.insert(id, r.sha256.clone());
        out.push(format!(
            "raw {} {} {:?} {} {:?} {:?} {:?}",
            r.sha256, r.status, r.error, r.deliveries, r.org_id, r.processed_at, body
        ));
    }
    for org in orgs {
        let mut rows = Vec::new();
        for r in reports::list(db, *org, None, 100_000).await.unwrap() {
            let (policies, failures) = reports::parts(db, r.id).await.unwrap();
            rows.push(format!(
                "report {:?} of {} {} {} {} {} {} {} dup {} {:?} {:?}",
                r.org_id,
                sha_of[&r.raw_id],
                r.report_id,
                r.organization_name,
                r.start_at,
                r.success_count,
                r.failure_count,
                r.detail_count,
                r.duplicates,
                policies,
                failures
            ));
        }
        rows.sort();
        out.extend(rows);
        for r in reports::rollups(db, *org, None, i64::MIN).await.unwrap() {
            out.push(format!("rollup {org:?} {r:?}"));
        }
    }
    out
}

/// Rollups add up to the stored reports, per organization.
async fn assert_rollups_add_up(db: &Db, org: OrgId) {
    let list = reports::list(db, org, None, 100_000).await.unwrap();
    let rollups = reports::rollups(db, org, None, i64::MIN).await.unwrap();
    let sum = |kind: &str| -> i64 {
        rollups
            .iter()
            .filter(|r| r.result_type == kind)
            .map(|r| r.sessions)
            .sum()
    };
    assert_eq!(sum("success"), list.iter().map(|r| r.success_count).sum::<i64>());
    assert_eq!(
        sum("certificate-expired"),
        list.iter().map(|r| r.failure_count).sum::<i64>()
    );
    let counted: i64 = rollups
        .iter()
        .filter(|r| r.result_type == "success")
        .map(|r| r.reports)
        .sum();
    assert_eq!(counted, list.len() as i64);
}

/// Two organizations, one domain each, created the same way on every database.
async fn two_orgs(db: &Db) -> ((OrgId, DomainId), (OrgId, DomainId)) {
    let one = org(db, "One", false, None).await;
    let two = org(db, "Two", false, None).await;
    let d1 = domains::insert(db, one, "one.test", "reporting_only", T0, None)
        .await
        .unwrap();
    let d2 = domains::insert(db, two, "two.test", "reporting_only", T0, None)
        .await
        .unwrap();
    ((one, d1), (two, d2))
}

async fn a_batch_ingests_exactly_as_one_message_after_the_other(db: &Db) {
    let other = testdb::fresh(db.backend()).await.expect("second database");
    let mut snapshots = Vec::new();
    for (n, db) in [db, &other.db].into_iter().enumerate() {
        let ((one, d1), (two, d2)) = two_orgs(db).await;
        let earlier = vec![
            parsed("p", one, vec![new_report(one, d1, "r0", "pay-0", 5, 1)]),
            parsed("x", one, vec![new_report(one, d1, "k-x", "pay-x", 7, 0)]),
        ];
        let batch = vec![
            parsed("a", one, vec![new_report(one, d1, "r1", "pay-1", 10, 2)]),
            // The same bytes again.
            parsed("a", one, vec![new_report(one, d1, "r1", "pay-1", 10, 2)]),
            // Same report-id, other bytes: a duplicate.
            parsed("c", one, vec![new_report(one, d1, "r1", "pay-1c", 11, 0)]),
            // Same report-id and payload, but another organization: stored.
            parsed("d", two, vec![new_report(two, d2, "r1", "pay-1", 12, 1)]),
            Msg {
                sha: "e".into(),
                status: "rejected",
                error: Some("not a report".into()),
                org: None,
                reports: Vec::new(),
            },
            // Two reports with one payload in one message: the second is a duplicate.
            parsed(
                "f",
                one,
                vec![
                    new_report(one, d1, "r2", "pay-2", 3, 0),
                    new_report(one, d1, "r3", "pay-2", 4, 0),
                ],
            ),
            // Same payload as an earlier report of the batch.
            parsed("g", one, vec![new_report(one, d1, "r4", "pay-1", 1, 0)]),
            // Bytes of the earlier batch.
            parsed("p", one, vec![new_report(one, d1, "r0", "pay-0", 5, 1)]),
            // A duplicate (by report-id) of a stored report whose payload a later report of
            // the batch has: counted on the stored one only.
            parsed("i", one, vec![new_report(one, d1, "k-x", "pay-i", 2, 0)]),
            Msg {
                error: Some("one report was for nobody".into()),
                ..parsed("j", one, vec![new_report(one, d1, "k-j", "pay-i", 6, 1)])
            },
            Msg {
                sha: "e".into(),
                status: "rejected",
                error: Some("not a report".into()),
                org: None,
                reports: Vec::new(),
            },
        ];
        if n == 1 {
            ingest_one_by_one(db, &earlier).await;
            ingest_one_by_one(db, &batch).await;
        } else {
            ingest_batch(db, &earlier).await;
            let out = ingest_batch(db, &batch).await;
            let new_id = |k: usize| match out[k].raw {
                RawInserted::New(id) => id,
                ref other => panic!("{k}: {other:?}"),
            };
            let report = |k: usize, i: usize| match out[k].reports[i] {
                Stored::New(id) => id,
                other => panic!("{k}/{i}: {other:?}"),
            };
            let (r1, r2) = (report(0, 0), report(5, 0));
            assert_eq!(
                out[1].raw,
                RawInserted::Again {
                    id: new_id(0),
                    status: "parsed".into()
                }
            );
            assert!(out[1].reports.is_empty());
            assert_eq!(out[2].reports, [Stored::Duplicate(r1)]);
            report(3, 0);
            assert!(out[4].reports.is_empty());
            assert_eq!(out[5].reports[1], Stored::Duplicate(r2));
            assert_eq!(out[6].reports, [Stored::Duplicate(r1)]);
            assert!(matches!(&out[7].raw, RawInserted::Again { status, .. } if status == "parsed"));
            assert!(matches!(out[8].reports[..], [Stored::Duplicate(_)]));
            report(9, 0);
            assert_eq!(
                out[10].raw,
                RawInserted::Again {
                    id: new_id(4),
                    status: "rejected".into()
                }
            );
            assert_eq!(out[10].raw_error.as_deref(), Some("not a report"));
            let raw = |k: usize| async move { reports::raw(db, new_id(k)).await.unwrap().unwrap().0 };
            assert_eq!(
                (raw(0).await.status, raw(0).await.deliveries),
                ("parsed".into(), 2)
            );
            assert_eq!(raw(2).await.status, "duplicate");
            assert_eq!(raw(6).await.status, "duplicate");
            assert_eq!(raw(8).await.status, "duplicate");
            assert_eq!(raw(9).await.error.as_deref(), Some("one report was for nobody"));
            let list = reports::list(db, one, None, 100).await.unwrap();
            let dups = |id: &str| list.iter().find(|r| r.report_id == id).unwrap().duplicates;
            assert_eq!(list.len(), 5);
            assert_eq!(
                [dups("r0"), dups("k-x"), dups("r1"), dups("r2"), dups("k-j")],
                [1, 1, 3, 1, 0]
            );
            assert_eq!(reports::list(db, two, None, 100).await.unwrap().len(), 1);
        }
        assert_rollups_add_up(db, one).await;
        assert_rollups_add_up(db, two).await;
        snapshots.push(snapshot(db, &[one, two]).await);
    }
    assert_eq!(snapshots[0], snapshots[1]);
    other.db.close().await;
}

async fn a_batch_larger_than_one_statement_ingests_exactly_as_one_by_one(db: &Db) {
    let other = testdb::fresh(db.backend()).await.expect("second database");
    let mut snapshots = Vec::new();
    for (n, db) in [db, &other.db].into_iter().enumerate() {
        let ((one, d1), (two, d2)) = two_orgs(db).await;
        // More reports, raw rows and failure details than one statement takes; some repeat
        // an earlier report's id, some a much earlier one's payload (across statements);
        // every 50th is for the other organization.
        let msgs: Vec<Msg> = (0..2_100i64)
            .map(|i| {
                let (org, domain) = if i % 50 == 0 { (two, d2) } else { (one, d1) };
                let id = if i % 97 == 0 && i >= 50 { i - 50 } else { i };
                let payload = if i % 7 == 0 && i >= 1_850 { i - 1_800 } else { i };
                parsed(
                    &format!("m{i}"),
                    org,
                    vec![new_report(
                        org,
                        domain,
                        &format!("r{id}"),
                        &format!("pay{payload}"),
                        i,
                        i % 5,
                    )],
                )
            })
            .collect();
        if n == 1 {
            ingest_one_by_one(db, &msgs).await;
        } else {
            let out = ingest_batch(db, &msgs).await;
            let dups = out
                .iter()
                .filter(|o| matches!(o.reports[..], [Stored::Duplicate(_)]))
                .count();
            assert!(dups > 0);
        }
        assert_rollups_add_up(db, one).await;
        assert_rollups_add_up(db, two).await;
        snapshots.push(snapshot(db, &[one, two]).await);
    }
    assert_eq!(snapshots[0], snapshots[1]);
    other.db.close().await;
}

// ---------------------------------------------------------------------------------------------
// ACME: jobs with leases, certificates, accounts and challenges

const JOB: &str = "acme-order";

async fn of_racing_instances_exactly_one_claims_a_job_until_its_lease_ends(db: &Db) {
    assert!(acme::ensure_job(db, JOB, "mta-sts.a.test", T0).await.unwrap());
    assert!(
        !acme::ensure_job(db, JOB, "mta-sts.a.test", T0 - 50)
            .await
            .unwrap(),
        "ensure_job is idempotent"
    );
    assert!(
        acme::ensure_job(db, JOB, "mta-sts.later.test", T0 + HOUR)
            .await
            .unwrap()
    );
    // Ten instances race for the one due job.
    let mut racers = tokio::task::JoinSet::new();
    for i in 0..10 {
        let db = db.clone();
        racers.spawn(async move { acme::claim_job(&db, JOB, &format!("i{i}"), T0, T0 + 600).await });
    }
    let mut won = Vec::new();
    while let Some(r) = racers.join_next().await {
        won.extend(r.unwrap().unwrap());
    }
    assert_eq!(won.len(), 1, "exactly one claim: {won:?}");
    assert_eq!(won[0].subject, "mta-sts.a.test");
    assert_eq!(won[0].due_at, T0, "the original schedule was kept");
    let owner = won[0].lease_owner.clone().unwrap();
    // Nothing else is due; the held job is not claimable before its lease ends.
    assert!(
        acme::claim_job(db, JOB, "x", T0 + 599, T0 + 1200)
            .await
            .unwrap()
            .is_none()
    );
    // A lease that ran out (a crashed instance) is taken over.
    let again = acme::claim_job(db, JOB, "taker", T0 + 601, T0 + 1200)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (again.subject.as_str(), again.lease_owner.as_deref()),
        ("mta-sts.a.test", Some("taker"))
    );
    // The old owner can no longer finish it; the new one can.
    acme::finish_job(db, JOB, "mta-sts.a.test", &owner).await.unwrap();
    assert!(acme::job(db, JOB, "mta-sts.a.test").await.unwrap().is_some());
    acme::finish_job(db, JOB, "mta-sts.a.test", "taker")
        .await
        .unwrap();
    assert!(acme::job(db, JOB, "mta-sts.a.test").await.unwrap().is_none());
    // Released (shutdown): claimable again at once, attempts unchanged.
    let later = acme::claim_job(db, JOB, "i0", T0 + HOUR, T0 + HOUR + 600)
        .await
        .unwrap()
        .unwrap();
    acme::release_job(db, JOB, &later.subject, "i0").await.unwrap();
    let back = acme::claim_job(db, JOB, "i1", T0 + HOUR, T0 + HOUR + 600)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((back.subject.as_str(), back.attempts), ("mta-sts.later.test", 0));
}

async fn a_failed_job_counts_attempts_keeps_its_schedule_and_a_finished_one_is_gone(db: &Db) {
    acme::ensure_job(db, JOB, "mta-sts.broken.test", T0)
        .await
        .unwrap();
    acme::ensure_job(db, JOB, "mta-sts.gone.test", T0).await.unwrap();
    let j = acme::claim_job(db, JOB, "i0", T0, T0 + 600)
        .await
        .unwrap()
        .unwrap();
    acme::fail_job(db, JOB, &j.subject, "i0", "the CA could not validate", T0 + 60)
        .await
        .unwrap();
    let row = acme::job(db, JOB, &j.subject).await.unwrap().unwrap();
    assert_eq!(row.attempts, 1);
    assert_eq!(row.due_at, T0 + 60);
    assert_eq!(row.last_error.as_deref(), Some("the CA could not validate"));
    assert!(
        row.lease_owner.is_none() && row.lease_until.is_none(),
        "the lease is released"
    );
    // Scheduling it again does not reset the back-off.
    assert!(!acme::ensure_job(db, JOB, &j.subject, T0 + 1).await.unwrap());
    assert_eq!(
        acme::job(db, JOB, &j.subject).await.unwrap().unwrap().due_at,
        T0 + 60
    );
    // A failure reported by someone not holding the lease changes nothing.
    acme::fail_job(db, JOB, &j.subject, "stranger", "nope", T0 + 9)
        .await
        .unwrap();
    assert_eq!(acme::job(db, JOB, &j.subject).await.unwrap().unwrap().attempts, 1);
    // Hosts no longer served lose their jobs.
    let keep = vec![j.subject.clone()];
    acme::delete_jobs_except(db, JOB, &keep).await.unwrap();
    let subjects: Vec<String> = acme::jobs(db, JOB)
        .await
        .unwrap()
        .into_iter()
        .map(|j| j.subject)
        .collect();
    assert_eq!(subjects, keep);
    let st = acme::statuses(db, JOB, &[j.subject.clone(), "mta-sts.none.test".into()])
        .await
        .unwrap();
    assert_eq!(st[0].job.as_ref().map(|j| j.attempts), Some(1));
    assert!(st[1].job.is_none() && st[1].certificate.is_none());
}

fn cert(host: &str, serial: &str, not_before: i64) -> acme::CertRow {
    acme::CertRow {
        host: host.into(),
        chain_pem: format!("chain {serial}"),
        key_sealed: format!("sealed {serial}"),
        issuer: "CN=Test CA".into(),
        serial: serial.into(),
        not_before,
        not_after: not_before + 90 * 86_400,
        renew_at: not_before + 60 * 86_400,
        obtained_at: not_before,
    }
}

async fn storing_a_certificate_replaces_it_and_bumps_the_generation(db: &Db) {
    let g0 = domains::generation(db).await.unwrap();
    acme::put_certificate(db, &cert("mta-sts.a.test", "01", T0))
        .await
        .unwrap();
    let g1 = domains::generation(db).await.unwrap();
    assert!(g1 > g0, "every instance must notice the new certificate");
    acme::put_certificate(db, &cert("mta-sts.a.test", "02", T0 + 1000))
        .await
        .unwrap();
    assert!(domains::generation(db).await.unwrap() > g1);
    acme::put_certificate(db, &cert("mta-sts.b.test", "03", T0))
        .await
        .unwrap();
    let got = acme::certificate(db, "mta-sts.a.test").await.unwrap().unwrap();
    assert_eq!(got, cert("mta-sts.a.test", "02", T0 + 1000));
    assert_eq!(acme::certificates(db).await.unwrap().len(), 2);
    let st = acme::statuses(db, JOB, &["mta-sts.a.test".into()]).await.unwrap();
    let c = st[0].certificate.as_ref().unwrap();
    assert_eq!(c.serial, "02");
    assert!(c.key_sealed.is_empty(), "status never carries the key");
    assert_eq!(
        acme::delete_certificates_except(db, &["mta-sts.b.test".into()])
            .await
            .unwrap(),
        1
    );
    assert!(acme::certificate(db, "mta-sts.a.test").await.unwrap().is_none());
}

async fn the_first_stored_acme_account_wins_and_challenges_expire(db: &Db) {
    let dir = "https://ca.test/dir";
    assert!(acme::account(db, dir).await.unwrap().is_none());
    assert_eq!(acme::init_account(db, dir, "first", T0).await.unwrap(), "first");
    assert_eq!(
        acme::init_account(db, dir, "second", T0).await.unwrap(),
        "first",
        "a racing instance adopts the stored one"
    );
    assert!(
        acme::account(db, "https://other.test/dir")
            .await
            .unwrap()
            .is_none()
    );
    acme::put_challenge(db, "tok", "tok.thumb", "mta-sts.a.test", T0 + 10)
        .await
        .unwrap();
    assert_eq!(
        acme::challenge(db, "tok", T0).await.unwrap().as_deref(),
        Some("tok.thumb")
    );
    assert!(
        acme::challenge(db, "tok", T0 + 11).await.unwrap().is_none(),
        "expired"
    );
    assert!(acme::challenge(db, "other", T0).await.unwrap().is_none());
    acme::clear_challenges(db, "mta-sts.a.test", T0).await.unwrap();
    assert!(acme::challenge(db, "tok", T0).await.unwrap().is_none());
}
