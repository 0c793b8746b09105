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

both_backends!(
    operators_script_organizations_and_users,
    operators_script_domains_and_policies,
    operators_script_dashboards_problems_and_alerts
);

async fn operators_script_dashboards_problems_and_alerts(backend: Backend) {
    let Some(db) = testdb::fresh(backend).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let url = db.url.as_str();
    let d = dir.path();
    assert!(moat(url, d, &["migrate"], None).status.success());
    assert!(
        moat(url, d, &["org", "create", "Ops", "--json"], None)
            .status
            .success()
    );
    let add = [
        "domain",
        "add",
        "ops.test",
        "--org",
        "Ops",
        "--reporting-only",
        "--json",
    ];
    assert!(moat(url, d, &add, None).status.success());
    // Yesterday's report with an expired certificate on the MX, imported.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let day = moat_domain::calendar::format_day(now - 86_400);
    let report = serde_json::json!({
        "organization-name": "CLI Sender",
        "date-range": {"start-datetime": format!("{day}T00:00:00Z"), "end-datetime": format!("{day}T23:59:59Z")},
        "contact-info": "x@sender.test", "report-id": "cli-1",
        "policies": [{"policy": {"policy-type": "sts", "policy-domain": "ops.test", "mx-host": ["mx.ops.test"]},
            "summary": {"total-successful-session-count": 90, "total-failure-session-count": 10},
            "failure-details": [{"result-type": "certificate-expired", "receiving-mx-hostname": "mx.ops.test",
                                 "sending-mta-ip": "192.0.2.1", "failed-session-count": 10}]}]
    });
    let file = d.join("r.json");
    std::fs::write(&file, report.to_string()).unwrap();
    assert!(
        moat(url, d, &["import", "--org", "Ops", file.to_str().unwrap()], None)
            .status
            .success()
    );

    let dash = json(&moat(
        url,
        d,
        &["dashboard", "ops.test", "--org", "Ops", "--days", "7", "--json"],
        None,
    ));
    assert_eq!(
        (
            dash["success"].as_i64(),
            dash["failure"].as_i64(),
            dash["reports"].as_i64()
        ),
        (Some(90), Some(10), Some(1))
    );
    assert_eq!(dash["result_types"][0]["result_type"], "certificate-expired");
    let csv = moat(url, d, &["dashboard", "ops.test", "--org", "Ops", "--csv"], None);
    let csv = String::from_utf8(csv.stdout).unwrap();
    assert_eq!(csv.lines().count(), 2, "{csv}");
    assert!(csv.contains("cli-1,CLI Sender"));
    let bad = moat(
        url,
        d,
        &[
            "dashboard",
            "ops.test",
            "--org",
            "Ops",
            "--from",
            "2026-13-01",
            "--to",
            "2026-12-31",
        ],
        None,
    );
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not a date"));
    let overview = json(&moat(url, d, &["overview", "--org", "Ops", "--json"], None));
    assert_eq!(overview["rows"][0]["failure"], 10);

    let detected = moat(url, d, &["problems", "detect"], None);
    assert!(detected.status.success());
    let problems = json(&moat(
        url,
        d,
        &["problems", "list", "--org", "Ops", "--json"],
        None,
    ));
    let list = problems.as_array().unwrap();
    let mx = list
        .iter()
        .find(|p| p["rule"] == "mx-tls")
        .expect("an MX problem");
    assert_eq!(mx["subject"], "mx.ops.test");
    let id = mx["id"].as_i64().unwrap().to_string();
    assert!(
        moat(url, d, &["problems", "ack", &id, "--org", "Ops"], None)
            .status
            .success()
    );
    let problems = json(&moat(
        url,
        d,
        &["problems", "list", "--org", "Ops", "--json"],
        None,
    ));
    let mx = problems
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["rule"] == "mx-tls")
        .unwrap()
        .clone();
    assert_eq!(mx["acknowledged_by"], "cli");

    // Alerts: a webhook inside the network is refused; a public https one gets a secret.
    let refused = moat(
        url,
        d,
        &[
            "alerts",
            "set",
            "--org",
            "Ops",
            "--webhook",
            "https://10.0.0.1/hook",
        ],
        None,
    );
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("private or loopback"));
    let set = [
        "alerts",
        "set",
        "--org",
        "Ops",
        "--webhook",
        "https://hooks.example.com/moat",
        "--repeat-hours",
        "6",
    ];
    assert!(moat(url, d, &set, None).status.success());
    let shown = json(&moat(url, d, &["alerts", "show", "--org", "Ops", "--json"], None));
    assert_eq!(shown["repeat_hours"], 6);
    assert!(shown["webhook_secret"].as_str().unwrap().starts_with("whsec_"));
}

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
            webhook_allow_private: true,
            probe: Default::default(),
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

async fn operators_script_domains_and_policies(backend: Backend) {
    let Some(db) = testdb::fresh(backend).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let url = db.url.as_str();
    let d = dir.path();
    // A DNS server that refuses everything: MX discovery fails and checks report lookup errors.
    let refusing = moat_hosting::DnsSockets::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let resolver = refusing.local_addr().unwrap().to_string();
    let stop = tokio_util::sync::CancellationToken::new();
    tokio::spawn(refusing.serve(moat_hosting::dns::ZoneServer::new(), stop.clone()));
    let _stop = stop.drop_guard();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_moat"))
            .args(args)
            .env("MOAT_DATABASE_URL", url)
            .env("MOAT_DATA_DIR", d)
            .env("MOAT_ZONE", "sts.moat.test")
            .env("MOAT_RESOLVERS", &resolver)
            .output()
            .unwrap()
    };
    json(&run(&["org", "create", "Shop", "--json"]));
    let added = json(&run(&["domain", "add", "bücher.test", "--org", "Shop", "--json"]));
    assert_eq!(added["name"], "xn--bcher-kva.test");
    assert_eq!(added["display_name"], "bücher.test");
    assert_eq!(added["state"], "pending");
    assert_eq!(
        added["policy"]["mode"], "none",
        "no MX found, so no testing policy yet"
    );
    let list = json(&run(&["domain", "list", "--org", "Shop", "--json"]));
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["records"].as_array().unwrap().len(), 3);

    let set = json(&run(&[
        "policy",
        "set",
        "bücher.test",
        "--mode",
        "testing",
        "--mx",
        "mx1.bücher.test",
        "--mx",
        "*.mail.example.net",
        "--max-age",
        "604800",
        "--json",
    ]));
    assert_eq!(set["mode"], "testing");
    assert_eq!(
        set["mx"],
        serde_json::json!(["mx1.xn--bcher-kva.test", "*.mail.example.net"])
    );
    assert!(
        set["warnings"][0].as_str().unwrap().contains("MX lookup failed"),
        "the CLI prints the UI's warnings: {set}"
    );
    let show = json(&run(&["policy", "show", "xn--bcher-kva.test", "--json"]));
    assert_eq!(show["version"], 2);
    assert_eq!(show["history"].as_array().unwrap().len(), 2);
    assert_eq!(show["policy_id"], set["policy_id"]);

    let bad = run(&[
        "policy",
        "set",
        "bücher.test",
        "--mode",
        "enforce",
        "--max-age",
        "60",
    ]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("mx"), "{bad:?}");
    let missing = run(&["policy", "show", "nosuch.test"]);
    assert!(String::from_utf8_lossy(&missing.stderr).contains("nosuch.test is not added to Moat"));

    let check = json(&run(&["domain", "check", "bücher.test", "--json"]));
    assert_eq!(check["state"], "pending");
    assert_eq!(check["records"][0]["status"]["status"], "error");

    // CLI changes are audited like UI changes.
    let svc_db = moat_store::Db::connect(url).await.unwrap();
    let orgs = moat_store::orgs::list_all(&svc_db).await.unwrap();
    let audit = moat_store::audit::list(&svc_db, orgs[0].id, 50).await.unwrap();
    for action in ["domain.added", "policy.changed"] {
        assert!(
            audit.iter().any(|e| e.action == action && e.actor == "cli"),
            "{action}: {audit:?}"
        );
    }
}
