//! Tenants never see each other's data: every read and write of another organization's data
//! answers 404 `not_found`, through server functions and pages alike.

use crate::{both_backends, helpers::spawn_app};
use moat_store::Backend;
use reqwest::StatusCode;

both_backends!(
    a_user_of_one_organization_gets_not_found_for_everything_of_another,
    a_client_member_cannot_reach_the_msp_but_the_msp_reaches_the_client,
    a_viewer_can_read_but_not_change_anything,
    anonymous_callers_must_sign_in,
);

async fn a_user_of_one_organization_gets_not_found_for_everything_of_another(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (alice, org_a) = app.user_with_org("alice@a.test", "Alpha Secret Corp", true).await;
    let (mallory, org_b) = app.user_with_org("mallory@b.test", "Bravo", false).await;
    // Something to aim at in Alpha: a member and a pending invitation.
    alice
        .json(
            "invites/create",
            &[
                ("org", &org_a.to_string()),
                ("email", "x@a.test"),
                ("role", "viewer"),
            ],
        )
        .await;
    let detail = alice.json("orgs/detail", &[("org", &org_a.to_string())]).await;
    let alice_id = detail["members"][0]["user_id"].as_i64().unwrap().to_string();
    let invite_id = detail["invites"][0]["id"].as_i64().unwrap().to_string();
    let a = org_a.to_string();

    for (endpoint, form) in [
        ("orgs/detail", vec![("org", a.as_str())]),
        ("orgs/audit", vec![("org", a.as_str())]),
        (
            "orgs/create_client",
            vec![("org", a.as_str()), ("name", "Hijack")],
        ),
        (
            "orgs/change_role",
            vec![
                ("org", a.as_str()),
                ("user", alice_id.as_str()),
                ("role", "viewer"),
            ],
        ),
        (
            "orgs/remove_member",
            vec![("org", a.as_str()), ("user", alice_id.as_str())],
        ),
        (
            "invites/create",
            vec![("org", a.as_str()), ("email", "m@b.test"), ("role", "owner")],
        ),
        (
            "invites/revoke",
            vec![("org", a.as_str()), ("invite", invite_id.as_str())],
        ),
    ] {
        let (status, code, body) = mallory.fails(endpoint, &form).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{endpoint}: {body}");
        assert_eq!(code, "not_found", "{endpoint}: {body}");
        assert!(!body.contains("Alpha"), "{endpoint} leaked data: {body}");
    }
    // Mallory's own organization id with Alpha's invite id: still nothing.
    let (status, code, _) = mallory
        .fails(
            "invites/revoke",
            &[("org", &org_b.to_string()), ("invite", &invite_id)],
        )
        .await;
    assert_eq!((status, code.as_str()), (StatusCode::NOT_FOUND, "not_found"));

    // The page for Alpha looks exactly like one for an organization that does not exist.
    let page = mallory.get(&format!("/orgs/{a}")).await;
    assert_eq!(page.status(), StatusCode::NOT_FOUND);
    let html = page.text().await.unwrap();
    assert!(html.contains("Page not found") && !html.contains("Alpha Secret Corp"));
    let missing = mallory.get("/orgs/999999").await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);

    // And nothing changed in Alpha.
    let after = alice.json("orgs/detail", &[("org", &a)]).await;
    assert_eq!(after["members"].as_array().unwrap().len(), 1);
    assert_eq!(after["members"][0]["role"], "owner");
    assert_eq!(after["invites"].as_array().unwrap().len(), 1);
    assert!(after["clients"].as_array().unwrap().is_empty());
    let orgs = mallory.json("orgs/list", &[]).await;
    assert_eq!(orgs.as_array().unwrap().len(), 1, "{orgs}");
}

async fn a_client_member_cannot_reach_the_msp_but_the_msp_reaches_the_client(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (msp_owner, msp) = app
        .user_with_org("owner@msp.test", "Managed Services", true)
        .await;
    let client = msp_owner
        .json(
            "orgs/create_client",
            &[("org", &msp.to_string()), ("name", "Client Co")],
        )
        .await;
    let client_id = client["id"].as_i64().unwrap().to_string();

    // The MSP owner acts in the client with owner rights.
    let detail = msp_owner.json("orgs/detail", &[("org", &client_id)]).await;
    assert_eq!(detail["org"]["role"], "owner");
    assert_eq!(detail["org"]["via_msp"], true);

    // A colleague of the client, invited through the real flow.
    let invited = msp_owner
        .json(
            "invites/create",
            &[
                ("org", &client_id),
                ("email", "clara@client.test"),
                ("role", "admin"),
            ],
        )
        .await;
    assert!(invited.is_null());
    let mail = std::fs::read_dir(app.data_dir.join("outbox"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let text = std::fs::read_to_string(mail)
        .unwrap()
        .replace("=\r\n", "")
        .replace("=3D", "=");
    let token = text
        .split("token=")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    let clara = app.anonymous();
    clara
        .json(
            "invites/accept",
            &[("token", &token), ("password", "clara's long password")],
        )
        .await;

    let list = clara.json("orgs/list", &[]).await;
    let ids: Vec<i64> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![client_id.parse::<i64>().unwrap()]);
    let (status, code, _) = clara.fails("orgs/detail", &[("org", &msp.to_string())]).await;
    assert_eq!((status, code.as_str()), (StatusCode::NOT_FOUND, "not_found"));
    let (status, _, _) = clara
        .fails("orgs/create_client", &[("org", &msp.to_string()), ("name", "x")])
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // The accepted link cannot be used again.
    let (status, code, _) = app
        .anonymous()
        .fails(
            "invites/accept",
            &[("token", &token), ("password", "another long password")],
        )
        .await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid")
    );
}

async fn a_viewer_can_read_but_not_change_anything(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (owner, org) = app.user_with_org("owner@o.test", "Org", true).await;
    let org = org.to_string();
    let viewer_user = moat_services::tenancy::authorize(
        &app.services,
        &moat_services::tenancy::Actor::Operator,
        moat_domain::views::OrgId(org.parse().unwrap()),
        moat_domain::Action::InviteMembers,
    )
    .await
    .unwrap();
    moat_services::invites::operator_create_user(
        &app.services,
        &viewer_user,
        "viewer@o.test",
        "viewer's long password",
        moat_domain::Role::Viewer,
    )
    .await
    .unwrap();
    let viewer = app.anonymous();
    viewer
        .json(
            "sign_in",
            &[("email", "viewer@o.test"), ("password", "viewer's long password")],
        )
        .await;
    let detail = viewer.json("orgs/detail", &[("org", &org)]).await;
    assert_eq!(detail["org"]["role"], "viewer");
    assert!(detail["invites"].as_array().unwrap().is_empty());
    for (endpoint, form) in [
        (
            "invites/create",
            vec![("org", org.as_str()), ("email", "z@o.test"), ("role", "viewer")],
        ),
        ("orgs/create_client", vec![("org", org.as_str()), ("name", "x")]),
        ("orgs/audit", vec![("org", org.as_str())]),
    ] {
        let (status, code, body) = viewer.fails(endpoint, &form).await;
        assert_eq!(
            (status, code.as_str()),
            (StatusCode::FORBIDDEN, "forbidden"),
            "{endpoint}: {body}"
        );
    }
    // The owner sees the CLI-made membership in the audit log.
    let audit = owner.json("orgs/audit", &[("org", &org)]).await;
    let actions: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(
        actions.contains(&"member.added")
            && actions.contains(&"org.created")
            && actions.contains(&"user.signed_in"),
        "{actions:?}"
    );
}

async fn anonymous_callers_must_sign_in(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (_owner, org) = app.user_with_org("owner@p.test", "Private", false).await;
    let anon = app.anonymous();
    for endpoint in ["orgs/list", "orgs/detail", "orgs/audit"] {
        let (status, code, _) = anon.fails(endpoint, &[("org", &org.to_string())]).await;
        assert_eq!(
            (status, code.as_str()),
            (StatusCode::UNAUTHORIZED, "unauthorized"),
            "{endpoint}"
        );
    }
    let page = anon.get(&format!("/orgs/{org}")).await;
    assert!(
        page.status().is_redirection(),
        "{} {:?}",
        page.status(),
        page.headers()
    );
    assert!(page.headers()["location"].to_str().unwrap().starts_with("/login"));
}
