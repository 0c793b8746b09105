//! TLS reports: the raw messages as received, the normalized reports derived from them, and
//! the daily rollups maintained with every insert.
//!
//! Raw rows are written before anything parses them ([`insert_raw`]); [`store_reports`]
//! then records what the parser made of one raw row, in one transaction with its rollups.
//! Reading is always scoped by organization, except for the operator's raw-message
//! functions (`raw*`), which the intake and `moat reparse` use for every tenant.

use crate::{Backend, Db, Result, StoreError};
use moat_domain::views::{DomainId, OrgId};
use sqlx::{Any, Row, Transaction, any::AnyRow};
use std::collections::{BTreeMap, HashMap, hash_map::Entry};

/// A message or POST body as received, to be stored before parsing.
#[derive(Debug, Clone, Default)]
pub struct NewRaw<'a> {
    /// Unix seconds.
    pub received_at: i64,
    /// `smtp`, `https` or `import`.
    pub channel: &'a str,
    /// Peer address (`ip:port`), or the importing user.
    pub peer: Option<&'a str>,
    /// SMTP HELO/EHLO name.
    pub helo: Option<&'a str>,
    /// SMTP envelope sender.
    pub mail_from: Option<&'a str>,
    /// SMTP envelope recipients, one per line.
    pub rcpt_to: Option<&'a str>,
    /// Whether it arrived over TLS.
    pub tls: bool,
    /// HTTP Content-Type.
    pub content_type: Option<&'a str>,
    /// The imported file's name.
    pub file_name: Option<&'a str>,
    /// For `moat import --org`: the organization that gets unknown domains.
    pub org_hint: Option<OrgId>,
    /// Bytes received.
    pub size: i64,
    /// SHA-256 of the bytes received, hex.
    pub sha256: &'a str,
    /// The bytes received, gzip-compressed.
    pub body_gz: &'a [u8],
}

/// What [`insert_raw`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RawInserted {
    /// A new row.
    New(i64),
    /// These exact bytes were already stored; their delivery count was raised.
    Again {
        /// The existing row.
        id: i64,
        /// Its status.
        status: String,
    },
}

/// A `raw_reports` row without its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawRow {
    /// Id.
    pub id: i64,
    /// Unix seconds.
    pub received_at: i64,
    /// `smtp` / `https` / `import`.
    pub channel: String,
    /// Peer address.
    pub peer: Option<String>,
    /// HELO name.
    pub helo: Option<String>,
    /// Envelope sender.
    pub mail_from: Option<String>,
    /// Envelope recipients, one per line.
    pub rcpt_to: Option<String>,
    /// Arrived over TLS.
    pub tls: bool,
    /// HTTP Content-Type.
    pub content_type: Option<String>,
    /// Imported file name.
    pub file_name: Option<String>,
    /// Organization for unknown domains (`moat import --org`).
    pub org_hint: Option<OrgId>,
    /// Bytes received.
    pub size: i64,
    /// SHA-256, hex.
    pub sha256: String,
    /// How many times these bytes arrived.
    pub deliveries: i64,
    /// `pending` / `parsed` / `duplicate` / `rejected` / `unattributed`.
    pub status: String,
    /// Why it was rejected or not attributed.
    pub error: Option<String>,
    /// The organization its reports went to.
    pub org_id: Option<OrgId>,
    /// When it was last parsed.
    pub processed_at: Option<i64>,
}

const RAW_COLS: &str = "id, received_at, channel, peer, helo, mail_from, rcpt_to, tls, content_type, file_name, \
     org_hint, size, sha256, deliveries, status, error, org_id, processed_at";

fn raw_row(r: &AnyRow) -> Result<RawRow> {
    Ok(RawRow {
        id: r.try_get("id")?,
        received_at: r.try_get("received_at")?,
        channel: r.try_get("channel")?,
        peer: r.try_get("peer")?,
        helo: r.try_get("helo")?,
        mail_from: r.try_get("mail_from")?,
        rcpt_to: r.try_get("rcpt_to")?,
        tls: r.try_get::<i64, _>("tls")? != 0,
        content_type: r.try_get("content_type")?,
        file_name: r.try_get("file_name")?,
        org_hint: r.try_get::<Option<i64>, _>("org_hint")?.map(OrgId),
        size: r.try_get("size")?,
        sha256: r.try_get("sha256")?,
        deliveries: r.try_get("deliveries")?,
        status: r.try_get("status")?,
        error: r.try_get("error")?,
        org_id: r.try_get::<Option<i64>, _>("org_id")?.map(OrgId),
        processed_at: r.try_get("processed_at")?,
    })
}

/// Stores a received message durably (status `pending`). Identical bytes stored before are
/// not stored again: their delivery count goes up instead.
pub async fn insert_raw(db: &Db, raw: &NewRaw<'_>) -> Result<RawInserted> {
    // An explicit transaction: only a successful COMMIT means stored (sqlx's `Any` driver
    // returns a single-statement RETURNING row before PostgreSQL confirms the implicit
    // commit).
    let mut tx = db.begin_write().await?;
    let inserted = insert_raw_tx(&mut tx, raw).await?;
    tx.commit().await?;
    Ok(inserted)
}

async fn insert_raw_tx(tx: &mut Transaction<'static, Any>, raw: &NewRaw<'_>) -> Result<RawInserted> {
    let row = sqlx::query(
        "INSERT INTO raw_reports
           (received_at, channel, peer, helo, mail_from, rcpt_to, tls, content_type, file_name,
            org_hint, size, sha256, body_gz, status)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 'pending')
         ON CONFLICT (sha256) DO UPDATE SET deliveries = raw_reports.deliveries + 1
         RETURNING id, deliveries, status",
    )
    .bind(raw.received_at)
    .bind(raw.channel)
    .bind(raw.peer)
    .bind(raw.helo)
    .bind(raw.mail_from)
    .bind(raw.rcpt_to)
    .bind(i64::from(raw.tls))
    .bind(raw.content_type)
    .bind(raw.file_name)
    .bind(raw.org_hint.map(|o| o.0))
    .bind(raw.size)
    .bind(raw.sha256)
    .bind(raw.body_gz)
    .fetch_one(&mut **tx)
    .await?;
    let id: i64 = row.try_get("id")?;
    let deliveries: i64 = row.try_get("deliveries")?;
    Ok(if deliveries > 1 {
        RawInserted::Again {
            id,
            status: row.try_get("status")?,
        }
    } else {
        RawInserted::New(id)
    })
}

/// One raw message with its (compressed) body.
pub async fn raw(db: &Db, id: i64) -> Result<Option<(RawRow, Vec<u8>)>> {
    let q = format!("SELECT {RAW_COLS}, body_gz FROM raw_reports WHERE id = $1");
    let Some(r) = sqlx::query(&q).bind(id).fetch_optional(db.pool()).await? else {
        return Ok(None);
    };
    Ok(Some((raw_row(&r)?, r.try_get("body_gz")?)))
}

/// The organizations that reports of raw message `raw_id` are filed under, each once.
pub async fn raw_orgs(db: &Db, raw_id: i64) -> Result<Vec<OrgId>> {
    sqlx::query("SELECT DISTINCT org_id FROM reports WHERE raw_id = $1 ORDER BY org_id")
        .bind(raw_id)
        .fetch_all(db.pool())
        .await?
        .iter()
        .map(|r| Ok(OrgId(r.try_get("org_id")?)))
        .collect()
}

/// Ids of raw messages with one of `statuses` (all when empty), above `after`, in order.
pub async fn raw_ids(db: &Db, statuses: &[&str], after: i64, limit: i64) -> Result<Vec<i64>> {
    let mut q = String::from("SELECT id FROM raw_reports WHERE id > $1");
    if !statuses.is_empty() {
        let list: Vec<String> = (0..statuses.len()).map(|i| format!("${}", i + 3)).collect();
        q.push_str(&format!(" AND status IN ({})", list.join(", ")));
    }
    q.push_str(" ORDER BY id LIMIT $2");
    let mut query = sqlx::query_scalar(&q).bind(after).bind(limit);
    for s in statuses {
        query = query.bind(*s);
    }
    Ok(query.fetch_all(db.pool()).await?)
}

/// Sets a raw message's status (after [`store_reports`] found only duplicates).
pub async fn set_raw_status(db: &Db, id: i64, status: &str) -> Result<()> {
    sqlx::query("UPDATE raw_reports SET status = $1 WHERE id = $2")
        .bind(status)
        .bind(id)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// Counts one more delivery of raw message `id` as a duplicate on the reports it produced.
pub async fn count_redelivery(db: &Db, id: i64) -> Result<()> {
    sqlx::query("UPDATE reports SET duplicates = duplicates + 1 WHERE raw_id = $1")
        .bind(id)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// Replaces a raw message's recipients and organization hint (a later delivery of the
/// same bytes that says more about where they belong).
pub async fn set_raw_envelope(
    db: &Db,
    id: i64,
    rcpt_to: Option<&str>,
    org_hint: Option<OrgId>,
) -> Result<()> {
    sqlx::query(
        "UPDATE raw_reports SET rcpt_to = COALESCE($1, rcpt_to), org_hint = COALESCE($2, org_hint) WHERE id = $3",
    )
    .bind(rcpt_to)
    .bind(org_hint.map(|o| o.0))
    .bind(id)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Raw messages still `pending` (stored, parse deferred) that arrived before `before`.
pub async fn raw_pending_before(db: &Db, before: i64, limit: i64) -> Result<Vec<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM raw_reports WHERE status = 'pending' AND received_at < $1 ORDER BY id LIMIT $2",
    )
    .bind(before)
    .bind(limit)
    .fetch_all(db.pool())
    .await?)
}

/// Counts of raw messages per status (operator view).
pub async fn raw_status_counts(db: &Db) -> Result<Vec<(String, i64)>> {
    let rows = sqlx::query(
        "SELECT status, CAST(COUNT(*) AS BIGINT) AS n FROM raw_reports GROUP BY status ORDER BY status",
    )
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("status")?, r.try_get("n")?)))
        .collect()
}

/// A report to store, already attributed to an organization and a domain.
#[derive(Debug, Clone)]
pub struct NewReport {
    /// Owner.
    pub org_id: OrgId,
    /// The domain it is filed under.
    pub domain_id: DomainId,
    /// `report-id` as sent (may be empty).
    pub report_id: String,
    /// Duplicate key: `report-id`, or the payload hash when it has none.
    pub dedupe_key: String,
    /// `organization-name`.
    pub organization_name: String,
    /// `contact-info`.
    pub contact_info: Option<String>,
    /// The policy domain it is about.
    pub policy_domain: String,
    /// Start, unix seconds.
    pub start_at: i64,
    /// End, unix seconds.
    pub end_at: i64,
    /// Successful sessions (all policies).
    pub success_count: i64,
    /// Failed sessions (all policies) as the rollups count them: per policy the sender's
    /// total, or the sum of its failure details when those add up to more.
    pub failure_count: i64,
    /// Warnings, JSON list of `{code, message}`.
    pub warnings_json: String,
    /// SHA-256 of the normalized report, hex.
    pub payload_sha256: String,
    /// Sessions per outcome (what goes into the rollups).
    pub tallies: Vec<(String, i64)>,
    /// Per-policy results.
    pub policies: Vec<NewPolicyResult>,
}

/// One policy of a [`NewReport`].
#[derive(Debug, Clone)]
pub struct NewPolicyResult {
    /// `sts` / `tlsa` / `no-policy-found` / as sent.
    pub policy_type: String,
    /// `policy-domain`.
    pub policy_domain: Option<String>,
    /// `policy-string`, JSON list.
    pub policy_string_json: String,
    /// `mx-host`, JSON list.
    pub mx_host_json: String,
    /// Successful sessions.
    pub success_count: i64,
    /// Failed sessions.
    pub failure_count: i64,
    /// Failure details.
    pub failures: Vec<NewFailure>,
}

/// One failure detail.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewFailure {
    /// Result type (wire name).
    pub result_type: String,
    /// Sending MTA IP (as sent when invalid).
    pub sending_mta_ip: Option<String>,
    /// Receiving MX hostname.
    pub receiving_mx_hostname: Option<String>,
    /// Receiving MX HELO.
    pub receiving_mx_helo: Option<String>,
    /// Receiving IP.
    pub receiving_ip: Option<String>,
    /// Failed sessions.
    pub failed_session_count: i64,
    /// Additional information.
    pub additional_information: Option<String>,
    /// Failure reason code.
    pub failure_reason_code: Option<String>,
}

/// What became of one [`NewReport`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    /// Inserted with this row id.
    New(i64),
    /// Already stored (same organization and report-id, or same payload): the existing
    /// row's duplicate count was raised.
    Duplicate(i64),
}

/// How a raw message ends up after processing.
#[derive(Debug, Clone)]
pub struct RawOutcome<'a> {
    /// `parsed` / `duplicate` / `rejected` / `unattributed`.
    pub status: &'a str,
    /// Why (for `rejected` / `unattributed`).
    pub error: Option<&'a str>,
    /// Where its reports went.
    pub org_id: Option<OrgId>,
}

/// The UTC day (unix seconds of its midnight) a report is counted on.
pub fn day_of(start_at: i64) -> i64 {
    start_at - start_at.rem_euclid(86_400)
}

/// Records what the parser made of raw message `raw_id`, in one transaction: reports that
/// this raw message produced before (a re-parse) are taken out first, together with their
/// rollup contributions; then each report is inserted with its policies, failure details
/// and rollups, or counted as a duplicate; finally the raw row gets `outcome`.
pub async fn store_reports(
    db: &Db,
    raw_id: i64,
    now: i64,
    reports: &[NewReport],
    outcome: &RawOutcome<'_>,
) -> Result<Vec<Stored>> {
    let mut tx = db.begin_write().await?;
    clear_derived(&mut tx, raw_id).await?;
    let mut rollups = Rollups::new();
    let entries: Vec<(i64, &NewReport)> = reports.iter().map(|r| (raw_id, r)).collect();
    let stored = insert_reports(&mut tx, db.backend(), &mut rollups, now, &entries).await?;
    apply_rollups(&mut tx, db.backend(), &rollups).await?;
    sqlx::query(
        "UPDATE raw_reports SET status = $1, error = $2, org_id = $3, processed_at = $4 WHERE id = $5",
    )
    .bind(outcome.status)
    .bind(outcome.error)
    .bind(outcome.org_id.map(|o| o.0))
    .bind(now)
    .bind(raw_id)
    .execute(&mut **tx)
    .await?;
    tx.commit().await?;
    Ok(stored)
}

/// One message of a batch: the raw message and what its parse produced (attributed
/// reports, or none with a status saying why).
#[derive(Debug, Clone)]
pub struct BatchItem<'a> {
    /// The message as received.
    pub raw: NewRaw<'a>,
    /// Its reports (empty when rejected or unattributed).
    pub reports: Vec<NewReport>,
    /// `parsed` / `rejected` / `unattributed` (`parsed` becomes `duplicate` when every
    /// report was stored before).
    pub status: &'a str,
    /// Why, for `rejected` / `unattributed` (or the unattributed part of a parsed message).
    pub error: Option<String>,
    /// Where its reports go.
    pub org_id: Option<OrgId>,
}

/// What [`ingest_batch`] did with one [`BatchItem`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchStored {
    /// The raw row (new, or the earlier copy of the same bytes).
    pub raw: RawInserted,
    /// For a repeat ([`RawInserted::Again`]): the earlier copy's error, if any.
    pub raw_error: Option<String>,
    /// Per report, for a new raw row (empty for a repeat).
    pub reports: Vec<Stored>,
}

/// Most bind parameters in one statement: SQLite's limit (32766); PostgreSQL's is 65535.
const MAX_BINDS: usize = 32_766;

/// Most message bytes (compressed) in one multi-row `raw_reports` INSERT.
const MAX_RAW_BYTES_PER_INSERT: usize = 16 << 20;

/// Appends `rows` placeholder tuples of `per_row` parameters each, the only parameters of
/// the statement, bound in order. SQLite gets anonymous `?`: it looks numbered parameters up
/// by name in a list, when parsing and again when binding each one, which makes a statement
/// with thousands of `$N` cost quadratic time (most of an import's CPU time, measured).
fn push_values(q: &mut String, backend: Backend, rows: usize, per_row: usize) {
    use std::fmt::Write as _;
    for row in 0..rows {
        q.push_str(if row == 0 { "(" } else { ", (" });
        for col in 0..per_row {
            if col > 0 {
                q.push_str(", ");
            }
            match backend {
                Backend::Sqlite => q.push('?'),
                Backend::Postgres => {
                    let _ = write!(q, "${}", row * per_row + col + 1);
                }
            }
        }
        q.push(')');
    }
}

/// Stores many messages in one transaction (bulk import), with the same result as
/// [`insert_raw`] + [`store_reports`] for each message in turn, in a handful of multi-row
/// statements instead of several statements per message: the new raw rows (already with
/// their parse outcome, in the same transaction), then every report, policy and failure
/// detail of the batch, then the rollups. Bytes stored before — earlier, or by an earlier
/// message of the same batch — only have their delivery counted.
pub async fn ingest_batch(db: &Db, now: i64, items: &[BatchItem<'_>]) -> Result<Vec<BatchStored>> {
    // Identical bytes twice in one batch: the later copy is a repeat of the first, as if
    // the first had been stored and processed before it arrived.
    let mut first_of: HashMap<&str, usize> = HashMap::new();
    let mut repeat_of: Vec<Option<usize>> = Vec::with_capacity(items.len());
    let mut firsts = Vec::new();
    for (i, item) in items.iter().enumerate() {
        match first_of.entry(item.raw.sha256) {
            Entry::Occupied(e) => repeat_of.push(Some(*e.get())),
            Entry::Vacant(e) => {
                e.insert(i);
                repeat_of.push(None);
                firsts.push(i);
            }
        }
    }

    let backend = db.backend();
    let mut tx = db.begin_write().await?;
    let inserted = insert_raws(&mut tx, backend, now, items, &firsts).await?;
    let mut raws: Vec<Option<(RawInserted, Option<String>)>> = vec![None; items.len()];
    for (&i, r) in firsts.iter().zip(inserted) {
        raws[i] = Some(r);
    }

    // The reports of the new raw rows, in batch order.
    let mut entries: Vec<(i64, &NewReport)> = Vec::new();
    for (item, raw) in items.iter().zip(&raws) {
        if let Some((RawInserted::New(raw_id), _)) = raw {
            entries.extend(item.reports.iter().map(|r| (*raw_id, r)));
        }
    }
    let mut rollups = Rollups::new();
    let mut stored = insert_reports(&mut tx, backend, &mut rollups, now, &entries)
        .await?
        .into_iter();

    let mut out = Vec::with_capacity(items.len());
    let mut all_duplicates = Vec::new();
    let mut redelivered = Vec::new();
    for (item, raw) in items.iter().zip(&raws) {
        match raw {
            Some((RawInserted::New(raw_id), _)) => {
                let reports: Vec<Stored> = stored.by_ref().take(item.reports.len()).collect();
                if item.status == "parsed" && reports.iter().all(|s| matches!(s, Stored::Duplicate(_))) {
                    all_duplicates.push(*raw_id);
                }
                out.push(BatchStored {
                    raw: RawInserted::New(*raw_id),
                    raw_error: None,
                    reports,
                });
            }
            Some((again @ RawInserted::Again { id, .. }, error)) => {
                redelivered.push(*id);
                out.push(BatchStored {
                    raw: again.clone(),
                    raw_error: error.clone(),
                    reports: Vec::new(),
                });
            }
            // A repeat within the batch: filled in below.
            None => out.push(BatchStored {
                raw: RawInserted::New(0),
                raw_error: None,
                reports: Vec::new(),
            }),
        }
    }
    for ids in all_duplicates.chunks(MAX_BINDS) {
        let mut q = String::from("UPDATE raw_reports SET status = 'duplicate' WHERE id IN ");
        push_values_list(&mut q, backend, ids.len());
        let mut query = sqlx::query(&q);
        for id in ids {
            query = query.bind(*id);
        }
        query.execute(&mut **tx).await?;
    }
    // Bytes stored before: a sender (or an import) repeating them counts on their reports.
    for ids in redelivered.chunks(MAX_BINDS) {
        let mut q = String::from("UPDATE reports SET duplicates = duplicates + 1 WHERE raw_id IN ");
        push_values_list(&mut q, backend, ids.len());
        let mut query = sqlx::query(&q);
        for id in ids {
            query = query.bind(*id);
        }
        query.execute(&mut **tx).await?;
    }
    // Repeats within the batch, in order: one more delivery of the first copy.
    for (i, first) in repeat_of.iter().enumerate() {
        let Some(first) = first else { continue };
        let id = match &out[*first].raw {
            RawInserted::New(id) | RawInserted::Again { id, .. } => *id,
        };
        let row = sqlx::query(
            "UPDATE raw_reports SET deliveries = deliveries + 1 WHERE id = $1 RETURNING status, error",
        )
        .bind(id)
        .fetch_one(&mut **tx)
        .await?;
        sqlx::query("UPDATE reports SET duplicates = duplicates + 1 WHERE raw_id = $1")
            .bind(id)
            .execute(&mut **tx)
            .await?;
        out[i] = BatchStored {
            raw: RawInserted::Again {
                id,
                status: row.try_get("status")?,
            },
            raw_error: row.try_get("error")?,
            reports: Vec::new(),
        };
    }
    apply_rollups(&mut tx, backend, &rollups).await?;
    tx.commit().await?;
    Ok(out)
}

/// Appends `(p1, p2, ..., pn)`, the only parameters of the statement.
fn push_values_list(q: &mut String, backend: Backend, n: usize) {
    push_values(q, backend, 1, n);
}

/// Inserts the raw rows `which` of `items` (distinct bytes), with their parse outcome, or
/// counts one more delivery of bytes stored before. Returns, per row, what happened and
/// (for a repeat) the stored error.
async fn insert_raws(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    now: i64,
    items: &[BatchItem<'_>],
    which: &[usize],
) -> Result<Vec<(RawInserted, Option<String>)>> {
    const BINDS: usize = 17;
    let mut out: Vec<Option<(RawInserted, Option<String>)>> = vec![None; which.len()];
    let mut start = 0;
    while start < which.len() {
        // As many rows as the bind limit and the size cap allow (at least one).
        let mut end = start;
        let mut bytes = 0;
        while end < which.len()
            && (end == start
                || ((end - start + 1) * BINDS <= MAX_BINDS
                    && bytes + items[which[end]].raw.body_gz.len() <= MAX_RAW_BYTES_PER_INSERT))
        {
            bytes += items[which[end]].raw.body_gz.len();
            end += 1;
        }
        let chunk = &which[start..end];
        let mut q = String::from(
            "INSERT INTO raw_reports
               (received_at, channel, peer, helo, mail_from, rcpt_to, tls, content_type, file_name,
                org_hint, size, sha256, body_gz, status, error, org_id, processed_at)
             VALUES ",
        );
        push_values(&mut q, backend, chunk.len(), BINDS);
        q.push_str(
            " ON CONFLICT (sha256) DO UPDATE SET deliveries = raw_reports.deliveries + 1
             RETURNING id, deliveries, status, error, sha256",
        );
        let mut query = sqlx::query(&q);
        for &i in chunk {
            let item = &items[i];
            let raw = &item.raw;
            query = query
                .bind(raw.received_at)
                .bind(raw.channel)
                .bind(raw.peer)
                .bind(raw.helo)
                .bind(raw.mail_from)
                .bind(raw.rcpt_to)
                .bind(i64::from(raw.tls))
                .bind(raw.content_type)
                .bind(raw.file_name)
                .bind(raw.org_hint.map(|o| o.0))
                .bind(raw.size)
                .bind(raw.sha256)
                .bind(raw.body_gz)
                .bind(item.status)
                .bind(item.error.as_deref())
                .bind(item.org_id.map(|o| o.0))
                .bind(now);
        }
        // RETURNING comes in no guaranteed order: match the rows up by their hash.
        let position: HashMap<&str, usize> = chunk
            .iter()
            .enumerate()
            .map(|(k, &i)| (items[i].raw.sha256, start + k))
            .collect();
        for row in query.fetch_all(&mut **tx).await? {
            let sha: String = row.try_get("sha256")?;
            let Some(&k) = position.get(sha.as_str()) else {
                continue;
            };
            let id: i64 = row.try_get("id")?;
            let deliveries: i64 = row.try_get("deliveries")?;
            out[k] = Some(if deliveries > 1 {
                (
                    RawInserted::Again {
                        id,
                        status: row.try_get("status")?,
                    },
                    row.try_get("error")?,
                )
            } else {
                (RawInserted::New(id), None)
            });
        }
        start = end;
    }
    out.into_iter()
        .map(|r| r.ok_or_else(|| StoreError::Database(sqlx::Error::RowNotFound)))
        .collect()
}

/// Inserts reports (each with the raw row it came from) with their policies and failure
/// details, and gathers their rollup changes; a report stored before (same organization
/// and report-id, or same payload — also earlier in `entries`) is not stored again but
/// counted as a duplicate on the stored one. The result is the same as inserting them one
/// by one in order, with one multi-row statement per table.
async fn insert_reports(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    rollups: &mut Rollups,
    now: i64,
    entries: &[(i64, &NewReport)],
) -> Result<Vec<Stored>> {
    const BINDS: usize = 18;
    // Per entry, the id it was inserted with.
    let mut new_ids: Vec<Option<i64>> = vec![None; entries.len()];
    for (c, chunk) in entries.chunks(MAX_BINDS / BINDS).enumerate() {
        let offset = c * (MAX_BINDS / BINDS);
        let mut q = String::from(
            "INSERT INTO reports
               (org_id, domain_id, raw_id, report_id, dedupe_key, organization_name, contact_info,
                policy_domain, start_at, end_at, day, success_count, failure_count, detail_count,
                warnings_json, tallies_json, payload_sha256, received_at)
             VALUES ",
        );
        push_values(&mut q, backend, chunk.len(), BINDS);
        // Rows are inserted in order, each checked against the ones before it: a row that
        // conflicts (with a stored report or an earlier row) is skipped.
        q.push_str(" ON CONFLICT DO NOTHING RETURNING id, org_id, dedupe_key, payload_sha256");
        let mut query = sqlx::query(&q);
        for (raw_id, r) in chunk {
            let tallies_json = serde_json::to_string(&r.tallies).unwrap_or_else(|_| "[]".into());
            let detail_count: i64 = r.policies.iter().map(|p| p.failures.len() as i64).sum();
            query = query
                .bind(r.org_id.0)
                .bind(r.domain_id.0)
                .bind(*raw_id)
                .bind(r.report_id.as_str())
                .bind(r.dedupe_key.as_str())
                .bind(r.organization_name.as_str())
                .bind(r.contact_info.as_deref())
                .bind(r.policy_domain.as_str())
                .bind(r.start_at)
                .bind(r.end_at)
                .bind(day_of(r.start_at))
                .bind(r.success_count)
                .bind(r.failure_count)
                .bind(detail_count)
                .bind(r.warnings_json.as_str())
                .bind(tallies_json)
                .bind(r.payload_sha256.as_str())
                .bind(now);
        }
        // RETURNING comes in no guaranteed order. A returned row belongs to the first entry
        // with its (organization, report-id, payload): a later entry with the same three
        // conflicts with it, and if the first was skipped, whatever it conflicted with
        // stops the later one too.
        let mut returned: HashMap<(i64, String, String), i64> = HashMap::new();
        for row in query.fetch_all(&mut **tx).await? {
            returned.insert(
                (
                    row.try_get("org_id")?,
                    row.try_get("dedupe_key")?,
                    row.try_get("payload_sha256")?,
                ),
                row.try_get("id")?,
            );
        }
        for (k, (_, r)) in chunk.iter().enumerate() {
            let key = (r.org_id.0, r.dedupe_key.clone(), r.payload_sha256.clone());
            if let Some(id) = returned.remove(&key) {
                new_ids[offset + k] = Some(id);
            }
        }
    }

    let mut stored = Vec::with_capacity(entries.len());
    for (k, (_, r)) in entries.iter().enumerate() {
        if let Some(id) = new_ids[k] {
            stored.push(Stored::New(id));
            continue;
        }
        // Counted on the report(s) it repeats, as when inserting one by one: leave out
        // reports of this batch inserted after it.
        let later: Vec<i64> = entries
            .iter()
            .zip(&new_ids)
            .skip(k + 1)
            .filter_map(|((_, o), id)| {
                let same = o.org_id == r.org_id
                    && (o.dedupe_key == r.dedupe_key || o.payload_sha256 == r.payload_sha256);
                id.filter(|_| same)
            })
            .collect();
        let mut q = String::from(
            "UPDATE reports SET duplicates = duplicates + 1
             WHERE org_id = $1 AND (dedupe_key = $2 OR payload_sha256 = $3)",
        );
        if !later.is_empty() {
            q.push_str(" AND id NOT IN ");
            let list: Vec<String> = (0..later.len()).map(|i| format!("${}", i + 4)).collect();
            q.push_str(&format!("({})", list.join(", ")));
        }
        q.push_str(" RETURNING id");
        let mut query = sqlx::query_scalar(&q)
            .bind(r.org_id.0)
            .bind(r.dedupe_key.as_str())
            .bind(r.payload_sha256.as_str());
        for id in &later {
            query = query.bind(*id);
        }
        let existing: i64 = query.fetch_one(&mut **tx).await?;
        stored.push(Stored::Duplicate(existing));
    }

    let new: Vec<(i64, &NewReport)> = entries
        .iter()
        .zip(&new_ids)
        .filter_map(|((_, r), id)| id.map(|id| (id, *r)))
        .collect();
    insert_policies(tx, backend, &new).await?;
    insert_failures(tx, backend, &new).await?;
    for (_, r) in &new {
        let rows = rollups
            .entry((
                r.org_id.0,
                r.domain_id.0,
                day_of(r.start_at),
                r.organization_name.clone(),
            ))
            .or_default();
        for (kind, n) in &r.tallies {
            let e = rows.entry(kind.clone()).or_default();
            e.0 += n;
            e.1 += 1;
        }
    }
    Ok(stored)
}

/// Inserts the policy results of new reports (report row id, report).
async fn insert_policies(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    reports: &[(i64, &NewReport)],
) -> Result<()> {
    const BINDS: usize = 8;
    let rows: Vec<(i64, usize, &NewPolicyResult)> = reports
        .iter()
        .flat_map(|(id, r)| r.policies.iter().enumerate().map(move |(pos, p)| (*id, pos, p)))
        .collect();
    for chunk in rows.chunks(MAX_BINDS / BINDS) {
        let mut q = String::from(
            "INSERT INTO report_policies
               (report_row, position, policy_type, policy_domain, policy_string, mx_host, success_count, failure_count)
             VALUES ",
        );
        push_values(&mut q, backend, chunk.len(), BINDS);
        let mut query = sqlx::query(&q);
        for (id, pos, p) in chunk {
            query = query
                .bind(*id)
                .bind(*pos as i64)
                .bind(p.policy_type.as_str())
                .bind(p.policy_domain.as_deref())
                .bind(p.policy_string_json.as_str())
                .bind(p.mx_host_json.as_str())
                .bind(p.success_count)
                .bind(p.failure_count);
        }
        query.execute(&mut **tx).await?;
    }
    Ok(())
}

/// Inserts the failure details of new reports (report row id, report), in order.
async fn insert_failures(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    reports: &[(i64, &NewReport)],
) -> Result<()> {
    const BINDS: usize = 10;
    let rows: Vec<(i64, usize, &NewFailure)> = reports
        .iter()
        .flat_map(|(id, r)| {
            r.policies
                .iter()
                .enumerate()
                .flat_map(move |(pos, p)| p.failures.iter().map(move |f| (*id, pos, f)))
        })
        .collect();
    for chunk in rows.chunks(MAX_BINDS / BINDS) {
        let mut q = String::from(
            "INSERT INTO failure_details
               (report_row, policy_position, result_type, sending_mta_ip, receiving_mx_hostname,
                receiving_mx_helo, receiving_ip, failed_session_count, additional_information,
                failure_reason_code) VALUES ",
        );
        push_values(&mut q, backend, chunk.len(), BINDS);
        let mut query = sqlx::query(&q);
        for (id, pos, f) in chunk {
            query = query
                .bind(*id)
                .bind(*pos as i64)
                .bind(f.result_type.as_str())
                .bind(f.sending_mta_ip.as_deref())
                .bind(f.receiving_mx_hostname.as_deref())
                .bind(f.receiving_mx_helo.as_deref())
                .bind(f.receiving_ip.as_deref())
                .bind(f.failed_session_count)
                .bind(f.additional_information.as_deref())
                .bind(f.failure_reason_code.as_deref());
        }
        query.execute(&mut **tx).await?;
    }
    Ok(())
}

/// A daily rollup's key: organization, domain, day, sending organization.
type RollupKey = (i64, i64, i64, String);
/// Rollup changes gathered in a transaction: per key, (sessions, reports) per result type.
type Rollups = BTreeMap<RollupKey, BTreeMap<String, (i64, i64)>>;

/// Writes gathered rollup changes (additions), in key order — concurrent transactions lock
/// rollup rows in the same order and cannot deadlock on them — in multi-row upserts.
async fn apply_rollups(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    rollups: &Rollups,
) -> Result<()> {
    const BINDS: usize = 7;
    let rows: Vec<(&RollupKey, &String, &(i64, i64))> = rollups
        .iter()
        .flat_map(|(key, rows)| rows.iter().map(move |(kind, n)| (key, kind, n)))
        .collect();
    let mut start = 0;
    while start < rows.len() {
        // One statement may not update the same row twice (PostgreSQL refuses): a second
        // row with the same primary key (possible only if a domain changed hands) starts
        // the next statement.
        let mut seen = std::collections::HashSet::new();
        let mut end = start;
        while end < rows.len() && (end - start) < MAX_BINDS / BINDS {
            let (key, kind, _) = rows[end];
            if !seen.insert((key.1, key.2, key.3.as_str(), kind.as_str())) {
                break;
            }
            end += 1;
        }
        let chunk = &rows[start..end];
        let mut q = String::from(
            "INSERT INTO daily_rollups (org_id, domain_id, day, sending_org, result_type, sessions, reports) VALUES ",
        );
        push_values(&mut q, backend, chunk.len(), BINDS);
        q.push_str(
            " ON CONFLICT (domain_id, day, sending_org, result_type) DO UPDATE SET
                sessions = daily_rollups.sessions + excluded.sessions,
                reports = daily_rollups.reports + excluded.reports",
        );
        let mut query = sqlx::query(&q);
        for (key, kind, (sessions, reports)) in chunk {
            query = query
                .bind(key.0)
                .bind(key.1)
                .bind(key.2)
                .bind(key.3.as_str())
                .bind(kind.as_str())
                .bind(*sessions)
                .bind(*reports);
        }
        query.execute(&mut **tx).await?;
        start = end;
    }
    Ok(())
}

/// Adds (or, with negative counts, takes back) one key's rows in the daily rollups.
async fn apply_tallies(
    tx: &mut Transaction<'static, Any>,
    key: &RollupKey,
    rows: &BTreeMap<String, (i64, i64)>,
) -> Result<()> {
    let (org, domain, day, sending_org) = (OrgId(key.0), DomainId(key.1), key.2, key.3.as_str());
    if rows.is_empty() {
        return Ok(());
    }
    // Rows in key order (a BTreeMap): concurrent transactions lock rollup rows in the
    // same order and cannot deadlock on them.
    let tallies: Vec<(&String, &(i64, i64))> = rows.iter().collect();
    let sign = if tallies.iter().any(|(_, (_, reports))| *reports < 0) {
        -1
    } else {
        1
    };
    let mut q = String::from(
        "INSERT INTO daily_rollups (org_id, domain_id, day, sending_org, result_type, sessions, reports) VALUES ",
    );
    for i in 0..tallies.len() {
        let b = i * 3;
        if i > 0 {
            q.push_str(", ");
        }
        q.push_str(&format!("($1, $2, $3, $4, ${}, ${}, ${})", b + 5, b + 6, b + 7));
    }
    q.push_str(
        " ON CONFLICT (domain_id, day, sending_org, result_type) DO UPDATE SET
            sessions = daily_rollups.sessions + excluded.sessions,
            reports = daily_rollups.reports + excluded.reports",
    );
    let mut query = sqlx::query(&q)
        .bind(org.0)
        .bind(domain.0)
        .bind(day)
        .bind(sending_org);
    for (kind, (sessions, reports)) in tallies {
        query = query.bind(kind.as_str()).bind(*sessions).bind(*reports);
    }
    query.execute(&mut **tx).await?;
    if sign < 0 {
        sqlx::query("DELETE FROM daily_rollups WHERE domain_id = $1 AND day = $2 AND reports <= 0")
            .bind(domain.0)
            .bind(day)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Removes the reports a raw message produced, and their rollup contributions.
async fn clear_derived(tx: &mut Transaction<'static, Any>, raw_id: i64) -> Result<()> {
    let rows = sqlx::query(
        "SELECT id, org_id, domain_id, day, organization_name, tallies_json FROM reports WHERE raw_id = $1",
    )
    .bind(raw_id)
    .fetch_all(&mut **tx)
    .await?;
    for r in &rows {
        let tallies: Vec<(String, i64)> =
            serde_json::from_str(&r.try_get::<String, _>("tallies_json")?).unwrap_or_default();
        let key: RollupKey = (
            r.try_get("org_id")?,
            r.try_get("domain_id")?,
            r.try_get("day")?,
            r.try_get("organization_name")?,
        );
        let rows = tallies.into_iter().map(|(k, n)| (k, (-n, -1))).collect();
        apply_tallies(tx, &key, &rows).await?;
        let id: i64 = r.try_get("id")?;
        // Children first: SQLite enforces the cascade only with foreign_keys on, and this
        // keeps both engines identical.
        sqlx::query("DELETE FROM failure_details WHERE report_row = $1")
            .bind(id)
            .execute(&mut **tx)
            .await?;
        sqlx::query("DELETE FROM report_policies WHERE report_row = $1")
            .bind(id)
            .execute(&mut **tx)
            .await?;
        sqlx::query("DELETE FROM reports WHERE id = $1")
            .bind(id)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// A stored report as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportRow {
    /// Row id.
    pub id: i64,
    /// Owner.
    pub org_id: OrgId,
    /// Domain it is filed under.
    pub domain_id: DomainId,
    /// That domain's name.
    pub domain: String,
    /// The raw message.
    pub raw_id: i64,
    /// How it arrived.
    pub channel: String,
    /// `report-id`.
    pub report_id: String,
    /// `organization-name`.
    pub organization_name: String,
    /// `contact-info`.
    pub contact_info: Option<String>,
    /// `policy-domain`.
    pub policy_domain: String,
    /// Start.
    pub start_at: i64,
    /// End.
    pub end_at: i64,
    /// Successful sessions.
    pub success_count: i64,
    /// Failed sessions.
    pub failure_count: i64,
    /// Number of failure details.
    pub detail_count: i64,
    /// Warnings JSON.
    pub warnings_json: String,
    /// Received.
    pub received_at: i64,
    /// Duplicate deliveries counted.
    pub duplicates: i64,
}

const REPORT_COLS: &str = "r.id, r.org_id, r.domain_id, d.name AS domain, r.raw_id, w.channel, r.report_id, \
     r.organization_name, r.contact_info, r.policy_domain, r.start_at, r.end_at, r.success_count, \
     r.failure_count, r.detail_count, r.warnings_json, r.received_at, r.duplicates";
const REPORT_FROM: &str =
    "FROM reports r JOIN domains d ON d.id = r.domain_id JOIN raw_reports w ON w.id = r.raw_id";

fn report_row(r: &AnyRow) -> Result<ReportRow> {
    Ok(ReportRow {
        id: r.try_get("id")?,
        org_id: OrgId(r.try_get("org_id")?),
        domain_id: DomainId(r.try_get("domain_id")?),
        domain: r.try_get("domain")?,
        raw_id: r.try_get("raw_id")?,
        channel: r.try_get("channel")?,
        report_id: r.try_get("report_id")?,
        organization_name: r.try_get("organization_name")?,
        contact_info: r.try_get("contact_info")?,
        policy_domain: r.try_get("policy_domain")?,
        start_at: r.try_get("start_at")?,
        end_at: r.try_get("end_at")?,
        success_count: r.try_get("success_count")?,
        failure_count: r.try_get("failure_count")?,
        detail_count: r.try_get("detail_count")?,
        warnings_json: r.try_get("warnings_json")?,
        received_at: r.try_get("received_at")?,
        duplicates: r.try_get("duplicates")?,
    })
}

/// An organization's reports, optionally of one domain, newest period first.
pub async fn list(db: &Db, org: OrgId, domain: Option<DomainId>, limit: i64) -> Result<Vec<ReportRow>> {
    let q = format!(
        "SELECT {REPORT_COLS} {REPORT_FROM}
         WHERE r.org_id = $1 AND ($2 = 0 OR r.domain_id = $2)
         ORDER BY r.start_at DESC, r.id DESC LIMIT $3"
    );
    let rows = sqlx::query(&q)
        .bind(org.0)
        .bind(domain.map_or(0, |d| d.0))
        .bind(limit)
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(report_row).collect()
}

/// One report of an organization.
pub async fn get(db: &Db, org: OrgId, id: i64) -> Result<Option<ReportRow>> {
    let q = format!("SELECT {REPORT_COLS} {REPORT_FROM} WHERE r.org_id = $1 AND r.id = $2");
    sqlx::query(&q)
        .bind(org.0)
        .bind(id)
        .fetch_optional(db.pool())
        .await?
        .as_ref()
        .map(report_row)
        .transpose()
}

/// A stored policy result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyResultRow {
    /// Position in the report.
    pub position: i64,
    /// Policy type.
    pub policy_type: String,
    /// Policy domain.
    pub policy_domain: Option<String>,
    /// Policy string, JSON list.
    pub policy_string_json: String,
    /// MX hosts, JSON list.
    pub mx_host_json: String,
    /// Successful sessions.
    pub success_count: i64,
    /// Failed sessions.
    pub failure_count: i64,
}

/// A stored failure detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailureRow {
    /// The policy it belongs to.
    pub policy_position: i64,
    /// The detail.
    pub failure: NewFailure,
}

/// The policies and failure details of one report (the caller has checked its org).
pub async fn parts(db: &Db, report_row: i64) -> Result<(Vec<PolicyResultRow>, Vec<FailureRow>)> {
    let policies = sqlx::query(
        "SELECT position, policy_type, policy_domain, policy_string, mx_host, success_count, failure_count
         FROM report_policies WHERE report_row = $1 ORDER BY position",
    )
    .bind(report_row)
    .fetch_all(db.pool())
    .await?
    .iter()
    .map(|r| {
        Ok(PolicyResultRow {
            position: r.try_get("position")?,
            policy_type: r.try_get("policy_type")?,
            policy_domain: r.try_get("policy_domain")?,
            policy_string_json: r.try_get("policy_string")?,
            mx_host_json: r.try_get("mx_host")?,
            success_count: r.try_get("success_count")?,
            failure_count: r.try_get("failure_count")?,
        })
    })
    .collect::<Result<Vec<_>>>()?;
    let failures = sqlx::query(
        "SELECT policy_position, result_type, sending_mta_ip, receiving_mx_hostname, receiving_mx_helo,
                receiving_ip, failed_session_count, additional_information, failure_reason_code
         FROM failure_details WHERE report_row = $1 ORDER BY id",
    )
    .bind(report_row)
    .fetch_all(db.pool())
    .await?
    .iter()
    .map(|r| {
        Ok(FailureRow {
            policy_position: r.try_get("policy_position")?,
            failure: NewFailure {
                result_type: r.try_get("result_type")?,
                sending_mta_ip: r.try_get("sending_mta_ip")?,
                receiving_mx_hostname: r.try_get("receiving_mx_hostname")?,
                receiving_mx_helo: r.try_get("receiving_mx_helo")?,
                receiving_ip: r.try_get("receiving_ip")?,
                failed_session_count: r.try_get("failed_session_count")?,
                additional_information: r.try_get("additional_information")?,
                failure_reason_code: r.try_get("failure_reason_code")?,
            },
        })
    })
    .collect::<Result<Vec<_>>>()?;
    Ok((policies, failures))
}

/// One daily rollup row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollupRow {
    /// Domain.
    pub domain_id: DomainId,
    /// UTC midnight, unix seconds.
    pub day: i64,
    /// Sending organization.
    pub sending_org: String,
    /// `success`, a result type, or `unclassified`.
    pub result_type: String,
    /// Sessions.
    pub sessions: i64,
    /// Reports that contributed.
    pub reports: i64,
}

/// An organization's rollups from day `since` on, optionally of one domain.
pub async fn rollups(db: &Db, org: OrgId, domain: Option<DomainId>, since: i64) -> Result<Vec<RollupRow>> {
    let rows = sqlx::query(
        "SELECT domain_id, day, sending_org, result_type, sessions, reports FROM daily_rollups
         WHERE org_id = $1 AND ($2 = 0 OR domain_id = $2) AND day >= $3
         ORDER BY day, domain_id, sending_org, result_type",
    )
    .bind(org.0)
    .bind(domain.map_or(0, |d| d.0))
    .bind(since)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(RollupRow {
                domain_id: DomainId(r.try_get("domain_id")?),
                day: r.try_get("day")?,
                sending_org: r.try_get("sending_org")?,
                result_type: r.try_get("result_type")?,
                sessions: r.try_get("sessions")?,
                reports: r.try_get("reports")?,
            })
        })
        .collect()
}
