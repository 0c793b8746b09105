//! The operator CLI, run as a real process against a fresh database.

use crate::both_backends;
use moat_store::{Backend, testdb};
use serde_json::Value;
use std::{
    io::Write,
    process::{Command, Output, Stdio},
};

fn moat(db_url: &str, data_dir: &std::path::Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_moat"))
        .args(args)
        .env("MOAT_DATABASE_URL", db_url)
        .env("MOAT_DATA_DIR", data_dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run moat");
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

fn json(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

both_backends!(operators_script_organizations_and_users);

async fn operators_script_organizations_and_users(backend: Backend) {
    let Some(db) = testdb::fresh(backend).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let url = db.url.as_str();
    let d = dir.path();

    assert!(moat(url, d, &["migrate"], None).status.success());
    let msp = json(&moat(
        url,
        d,
        &["org", "create", "Acme MSP", "--msp", "--json"],
        None,
    ));
    let msp_id = msp["id"].as_i64().unwrap().to_string();
    let client = json(&moat(
        url,
        d,
        &["org", "create", "Client", "--parent", "Acme MSP", "--json"],
        None,
    ));
    assert_eq!(client["parent"].as_i64().unwrap().to_string(), msp_id);
    // A client of a non-MSP is refused with a clear message.
    let bad = moat(url, d, &["org", "create", "Nested", "--parent", "Client"], None);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("is not an MSP organization"));

    let list = json(&moat(url, d, &["org", "list", "--json"], None));
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Acme MSP", "Client"]);

    // A user with a password from stdin can sign in through the web app's use-case.
    let user = json(&moat(
        url,
        d,
        &[
            "user",
            "create",
            "ops@acme.test",
            "--org",
            &msp_id,
            "--role",
            "owner",
            "--password-stdin",
            "--json",
        ],
        Some("operator's long password\n"),
    ));
    assert_eq!(user["role"], "owner");
    let services = moat_services::Services::new(
        db.db.clone(),
        moat_services::mail::Mailer::Outbox(d.join("outbox")),
        moat_services::Settings {
            public_url: "http://x".into(),
            mail_from: "m@x.test".into(),
            hosting: moat_services::HostingSettings::for_zone("sts.moat.test"),
        },
    );
    let signed_in = moat_services::accounts::sign_in(
        &services,
        "ops@acme.test",
        "operator's long password",
        "127.0.0.1",
    )
    .await
    .expect("the CLI-made account signs in");
    let orgs = moat_services::tenancy::list_orgs(&services, &signed_in)
        .await
        .unwrap();
    assert_eq!(orgs.len(), 2, "the MSP and, through it, its client");

    // Without --password-stdin an invitation goes out and its link is printed.
    let invite = json(&moat(
        url,
        d,
        &[
            "user",
            "create",
            "new@client.test",
            "--org",
            "Client",
            "--role",
            "admin",
            "--json",
        ],
        None,
    ));
    let link = invite["link"].as_str().unwrap();
    assert!(link.contains("/invite?token="), "{link}");
    let mail = std::fs::read_to_string(invite["delivered_to"].as_str().unwrap()).unwrap();
    assert!(mail.contains("To: new@client.test"), "{mail}");

    // Every CLI change is in the audit log.
    let audit = moat_store::audit::list(&db.db, moat_domain::views::OrgId(msp_id.parse().unwrap()), 50)
        .await
        .unwrap();
    let actions: Vec<&str> = audit.iter().map(|e| e.action.as_str()).collect();
    assert!(
        actions.contains(&"org.created")
            && actions.contains(&"member.added")
            && actions.contains(&"org.client_created"),
        "{actions:?}"
    );
    // Operator changes are by `cli`; the only other entry is the user's own sign-in above.
    for e in &audit {
        let expected = if e.action == "user.signed_in" {
            "ops@acme.test"
        } else {
            "cli"
        };
        assert_eq!(e.actor, expected, "{e:?}");
    }
}

#[test]
fn invalid_configuration_fails_fast_naming_the_key() {
    let out = Command::new(env!("CARGO_BIN_EXE_moat"))
        .args(["migrate"])
        .env("MOAT_WEB_ADDR", "not-an-address")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("MOAT_WEB_ADDR"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let help = Command::new(env!("CARGO_BIN_EXE_moat"))
        .args(["user", "create", "--help"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&help.stdout).contains("--password-stdin"));
}
