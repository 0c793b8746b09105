//! Fresh databases for tests: a new SQLite file, or a new PostgreSQL database created through
//! the admin URL in `MOAT_TEST_POSTGRES_URL`. Without that variable PostgreSQL tests are
//! skipped with a printed notice — unless `MOAT_REQUIRE_POSTGRES=1` (CI), then they fail.

use crate::{Backend, Db};
use std::path::PathBuf;

/// A fresh, migrated database and what it takes to reach it again.
pub struct TestDb {
    /// The migrated database.
    pub db: Db,
    /// Its URL (for a second instance or a CLI run).
    pub url: String,
    /// Kept alive for SQLite: the folder holding the file (removed on drop).
    _dir: Option<TempDir>,
}

/// A temporary folder removed on drop (enough for tests; no extra dependency).
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn unique() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{}_{nanos}_{n}", std::process::id())
}

/// A fresh database of `backend`, or `None` (with a notice) when PostgreSQL is not configured.
///
/// # Panics
/// When the database cannot be created: a test harness has nothing better to do.
pub async fn fresh(backend: Backend) -> Option<TestDb> {
    match backend {
        Backend::Sqlite => {
            let dir = std::env::temp_dir().join(format!("moat-test-{}", unique()));
            std::fs::create_dir_all(&dir).expect("create temp dir");
            let url = format!("sqlite://{}", dir.join("moat.db").display());
            let db = Db::connect(&url).await.expect("open sqlite");
            db.migrate().await.expect("migrate sqlite");
            Some(TestDb {
                db,
                url,
                _dir: Some(TempDir(dir)),
            })
        }
        Backend::Postgres => {
            let Ok(admin) = std::env::var("MOAT_TEST_POSTGRES_URL") else {
                assert!(
                    std::env::var("MOAT_REQUIRE_POSTGRES").as_deref() != Ok("1"),
                    "MOAT_REQUIRE_POSTGRES=1 but MOAT_TEST_POSTGRES_URL is not set"
                );
                eprintln!("SKIPPED (postgres): set MOAT_TEST_POSTGRES_URL to run this test on PostgreSQL");
                return None;
            };
            let name = format!("moat_test_{}", unique());
            let admin_db = Db::connect(&admin)
                .await
                .expect("connect to MOAT_TEST_POSTGRES_URL");
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(admin_db.pool())
                .await
                .expect("create test database");
            admin_db.close().await;
            let url = match admin.rsplit_once('/') {
                Some((base, _)) => format!("{base}/{name}"),
                None => panic!("MOAT_TEST_POSTGRES_URL must end in /DBNAME"),
            };
            let db = Db::connect(&url).await.expect("connect to test database");
            db.migrate().await.expect("migrate postgres");
            Some(TestDb { db, url, _dir: None })
        }
    }
}

/// Drops a PostgreSQL database, disconnecting its sessions (simulates losing the database).
///
/// # Panics
/// When the statement fails.
pub async fn drop_database(admin: &Db, name: &str) {
    sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)"))
        .execute(admin.pool())
        .await
        .expect("drop database");
}
