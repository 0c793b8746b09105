//! Read models: what the UI, the CLI's `--json` output and the API render. Plain data, no
//! behaviour, shared by the server and the browser build.

use crate::Role;
use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::num::ParseIntError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.parse().map($name)
            }
        }
    };
}

id_type!(
    /// An organization's id.
    OrgId
);
id_type!(
    /// A user account's id.
    UserId
);
id_type!(
    /// A pending invitation's id.
    InviteId
);

/// The signed-in user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserView {
    /// Account id.
    pub id: UserId,
    /// Login e-mail address.
    pub email: String,
}

/// An organization as seen by one user: with the role that user holds there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgView {
    /// Organization id.
    pub id: OrgId,
    /// Display name.
    pub name: String,
    /// Whether it manages client organizations.
    pub is_msp: bool,
    /// The MSP that manages it, if it is a client organization.
    pub parent: Option<OrgRef>,
    /// The viewer's effective role here.
    pub role: Role,
    /// True when the role comes from membership in the managing MSP, not here directly.
    pub via_msp: bool,
    /// Unix seconds of creation.
    pub created_at: i64,
}

/// A short reference to an organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgRef {
    /// Organization id.
    pub id: OrgId,
    /// Display name.
    pub name: String,
}

/// A member of an organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberView {
    /// The member's account.
    pub user_id: UserId,
    /// The member's e-mail address.
    pub email: String,
    /// Role in this organization.
    pub role: Role,
    /// Unix seconds when the membership started.
    pub since: i64,
}

/// An invitation that has not been accepted yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InviteView {
    /// Invitation id.
    pub id: InviteId,
    /// Who was invited.
    pub email: String,
    /// The role they get on accepting.
    pub role: Role,
    /// Who invited them.
    pub invited_by: String,
    /// Unix seconds after which the link no longer works.
    pub expires_at: i64,
}

/// What an invitation link offers, shown before accepting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitePreview {
    /// The organization the link joins.
    pub org_name: String,
    /// The invited address.
    pub email: String,
    /// The role offered.
    pub role: Role,
    /// Whether an account with this address exists (then the invitee signs in instead of
    /// choosing a password).
    pub account_exists: bool,
}

/// One line of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntryView {
    /// Unix seconds.
    pub at: i64,
    /// Who did it (e-mail), or `cli` for operator commands, or `system`.
    pub actor: String,
    /// Machine-readable action, e.g. `member.invited`.
    pub action: String,
    /// Human-readable details.
    pub detail: String,
}

/// Everything the organization page shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgDetail {
    /// The organization itself.
    pub org: OrgView,
    /// Direct members.
    pub members: Vec<MemberView>,
    /// Pending invitations (empty for viewers).
    pub invites: Vec<InviteView>,
    /// Client organizations, for an MSP.
    pub clients: Vec<OrgRef>,
}

id_type!(
    /// A customer domain's id.
    DomainId
);

/// One saved version of a domain's policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyVersionView {
    /// 1, 2, 3… per domain.
    pub version: i64,
    /// The `id=` published in `_mta-sts` for this version.
    pub policy_id: String,
    /// Mode.
    pub mode: crate::mta_sts::Mode,
    /// MX patterns.
    pub mx: Vec<crate::mta_sts::MxPattern>,
    /// max_age in seconds.
    pub max_age: crate::mta_sts::MaxAge,
    /// Unix seconds when it was saved (and served over HTTPS from then on).
    pub created_at: i64,
    /// Unix seconds from which its id is published in DNS (after the body is served).
    pub publish_at: i64,
    /// Who saved it (e-mail, `cli` or `system`).
    pub created_by: String,
    /// What changed against the previous version.
    pub changes: Vec<String>,
}

/// A domain as listed and shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainView {
    /// Id.
    pub id: DomainId,
    /// The organization it belongs to.
    pub org_id: OrgId,
    /// A-label name (`xn--bcher-kva.example`).
    pub name: String,
    /// U-label name for display (`bücher.example`).
    pub display_name: String,
    /// Hosted MTA-STS or reporting only.
    pub kind: crate::hosting::DomainKind,
    /// pending / active / degraded.
    pub state: crate::hosting::DomainState,
    /// Unix seconds.
    pub created_at: i64,
    /// Last record check, unix seconds.
    pub checked_at: Option<i64>,
    /// The records with their last verdicts.
    pub records: Vec<crate::hosting::RecordCheck>,
    /// The current policy version (hosted domains).
    pub policy: Option<PolicyVersionView>,
    /// The policy id DNS publishes now (may lag the current version by a few seconds, and
    /// is `None` while the domain is pending).
    pub published_policy_id: Option<String>,
    /// When "Remove MTA-STS" was requested.
    pub removal_requested_at: Option<i64>,
    /// From when the owner may delete the records: the removal time plus the longest
    /// max_age ever served.
    pub records_deletable_at: Option<i64>,
}

/// The domain page: the domain, its history and the live MX comparison.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainDetail {
    /// The domain.
    pub domain: DomainView,
    /// Every policy version, newest first.
    pub history: Vec<PolicyVersionView>,
    /// The records as a zone-file snippet.
    pub zone_snippet: String,
    /// The longest max_age ever served, seconds.
    pub longest_max_age: i64,
}

/// The certificate Moat serves for a domain's policy host (`mta-sts.<domain>`), for the
/// domain page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateView {
    /// The policy host.
    pub host: String,
    /// The ACME certificate; `None` while Moat's local CA certificate is served.
    pub acme: Option<AcmeCertificateView>,
    /// The pending or failing certificate order, if there is one.
    pub order: Option<CertOrderView>,
}

/// A certificate obtained over ACME (times are unix seconds).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcmeCertificateView {
    /// The issuer's distinguished name.
    pub issuer: String,
    /// The serial number, hex.
    pub serial: String,
    /// Valid from.
    pub not_before: i64,
    /// Valid until.
    pub not_after: i64,
    /// When renewal starts.
    pub renew_at: i64,
}

/// A certificate order job (times are unix seconds).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertOrderView {
    /// When the next attempt is due.
    pub due_at: i64,
    /// Failed attempts so far.
    pub attempts: i64,
    /// Why the last attempt failed, if it did.
    pub last_error: Option<String>,
}

/// Live MX hosts compared with a policy: what the editor shows and the CLI prints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MxReport {
    /// Live MX hostnames (sorted by preference), or empty when the lookup failed.
    pub live_mx: Vec<String>,
    /// Why the lookup failed, if it did.
    pub lookup_error: Option<String>,
    /// Patterns Moat proposes for the live MX set.
    pub proposed: Vec<crate::mta_sts::MxPattern>,
    /// Warnings about the policy against the live MX set.
    pub warnings: Vec<String>,
}

impl DomainView {
    /// "hosted" or "reporting only".
    pub fn kind_label(&self) -> &'static str {
        match self.kind {
            crate::hosting::DomainKind::Hosted => "hosted",
            crate::hosting::DomainKind::ReportingOnly => "reporting only",
        }
    }
}

/// A warning the lenient report parser recorded (a sender's deviation from RFC 8460).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportWarningView {
    /// Stable kebab-case code, e.g. `date-without-timezone`.
    pub code: String,
    /// What was seen and what Moat did about it.
    pub message: String,
}

/// A received TLS report as listed (and as `moat reports list --json` prints it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportView {
    /// Moat's id of the stored report.
    pub id: i64,
    /// The domain it is filed under (A-label).
    pub domain: String,
    /// That domain for display (U-label).
    pub display_domain: String,
    /// The sender's `report-id`.
    pub report_id: String,
    /// The sender's `organization-name`.
    pub organization_name: String,
    /// The sender's `contact-info`.
    pub contact_info: Option<String>,
    /// The `policy-domain` the report is about.
    pub policy_domain: String,
    /// How it arrived: `smtp`, `https` or `import`.
    pub channel: String,
    /// Period start, unix seconds.
    pub start_at: i64,
    /// Period end, unix seconds.
    pub end_at: i64,
    /// When Moat received it, unix seconds.
    pub received_at: i64,
    /// Successful sessions, all policies.
    pub total_successful_session_count: i64,
    /// Failed sessions, all policies.
    pub total_failure_session_count: i64,
    /// Number of failure details.
    pub failure_details: i64,
    /// The parser's warnings.
    pub warnings: Vec<ReportWarningView>,
    /// Further deliveries of the same report that were counted, not stored.
    pub duplicates: i64,
}

/// One policy's results in a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyResultView {
    /// `sts`, `tlsa`, `no-policy-found`, or what the sender wrote.
    pub policy_type: String,
    /// `policy-domain`.
    pub policy_domain: Option<String>,
    /// `policy-string` lines.
    pub policy_string: Vec<String>,
    /// `mx-host` entries.
    pub mx_host: Vec<String>,
    /// Successful sessions.
    pub total_successful_session_count: i64,
    /// Failed sessions.
    pub total_failure_session_count: i64,
    /// Failure details.
    pub failure_details: Vec<FailureDetailView>,
    /// How the policy the sender applied compares with the version Moat served at the start
    /// of the report period (hosted `sts` policies only), in words.
    pub served: Option<PolicyComparison>,
}

/// The sender's applied policy against the version Moat served then.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyComparison {
    /// Whether mode and mx patterns are the same.
    pub matches: bool,
    /// The version Moat served then (`None`: none was published yet).
    pub version: Option<i64>,
    /// Its policy id.
    pub policy_id: Option<String>,
    /// What differs, or that it matches, in words.
    pub text: String,
}

/// A result type explained for a report's reader.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResultExplanation {
    /// Result type as sent.
    pub result_type: String,
    /// Short title.
    pub title: String,
    /// What the sender experienced.
    pub meaning: String,
    /// The most common reason.
    pub likely_cause: String,
    /// What to do.
    pub fix: String,
    /// Where RFC 8460 defines it.
    pub rfc_section: String,
}

/// One failure detail of a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailureDetailView {
    /// Result type as sent (RFC 8460 §4.3 name, or unknown text kept verbatim).
    pub result_type: String,
    /// What the result type means, in plain words.
    pub meaning: String,
    /// Sending MTA IP.
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

/// How a report reached Moat: the stored raw message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RawReportView {
    /// Raw message id (for `moat reparse --id`).
    pub id: i64,
    /// `smtp`, `https` or `import`.
    pub channel: String,
    /// Unix seconds.
    pub received_at: i64,
    /// Peer address.
    pub peer: Option<String>,
    /// SMTP envelope sender.
    pub mail_from: Option<String>,
    /// SMTP envelope recipients.
    pub rcpt_to: Vec<String>,
    /// Arrived over TLS.
    pub tls: bool,
    /// Bytes received.
    pub size: i64,
    /// How many times these exact bytes arrived.
    pub deliveries: i64,
    /// `parsed`, `duplicate`, `rejected`, `unattributed` or `pending`.
    pub status: String,
    /// Why it was rejected or not attributed.
    pub error: Option<String>,
}

/// The report page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportDetail {
    /// The report.
    pub report: ReportView,
    /// Its policies with their failure details.
    pub policies: Vec<PolicyResultView>,
    /// Each result type of its failure details, explained.
    pub explanations: Vec<ResultExplanation>,
    /// The message it came in.
    pub raw: RawReportView,
}

/// Successful and failed sessions of one UTC day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayPoint {
    /// UTC midnight, unix seconds.
    pub day: i64,
    /// Successful sessions.
    pub success: i64,
    /// Failed sessions.
    pub failure: i64,
}

/// Failed sessions of one result type, with its explanation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResultTypeTally {
    /// Result type as sent (or `unclassified`: failures no failure detail accounts for).
    pub result_type: String,
    /// Short title, e.g. "Certificate expired".
    pub title: String,
    /// What it means, the likely cause and the fix, in one sentence each.
    pub meaning: String,
    /// Failed sessions.
    pub sessions: i64,
}

/// Sessions reported by one sending organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SenderTally {
    /// `organization-name` of the reports.
    pub organization_name: String,
    /// Successful sessions.
    pub success: i64,
    /// Failed sessions.
    pub failure: i64,
}

/// Failed sessions grouped by one key (a sending MTA IP, or a receiving MX).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailureTally {
    /// The sending MTA IP, or the receiving MX hostname (`None`: not reported).
    pub name: Option<String>,
    /// The receiving MX IP (MX tallies only).
    pub ip: Option<String>,
    /// Failed sessions.
    pub sessions: i64,
}

/// Dashboard filters: a range of days, and optionally one sending organization and one
/// result type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DashboardFilter {
    /// The days shown.
    pub range: crate::calendar::DayRange,
    /// Only this sending organization.
    pub sending_org: Option<String>,
    /// Only this result type.
    pub result_type: Option<String>,
}

/// A domain's TLS report dashboard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DomainDashboard {
    /// The domain.
    pub domain: DomainView,
    /// What is shown.
    pub filter: DashboardFilter,
    /// One point per day of the range (zero when nothing was reported).
    pub days: Vec<DayPoint>,
    /// Successful sessions in the range.
    pub success: i64,
    /// Failed sessions in the range.
    pub failure: i64,
    /// Reports in the range.
    pub reports: i64,
    /// When the newest report in the range was received.
    pub last_received: Option<i64>,
    /// Failed sessions per result type, most first.
    pub result_types: Vec<ResultTypeTally>,
    /// Sessions per sending organization, most failures first.
    pub senders: Vec<SenderTally>,
    /// Failed sessions per sending MTA IP, most first (at most 25).
    pub sending_ips: Vec<FailureTally>,
    /// Failed sessions per receiving MX, most first (at most 25).
    pub receiving_mx: Vec<FailureTally>,
    /// Every sending organization of the range (for the filter), sorted.
    pub all_senders: Vec<String>,
    /// ECharts option (JSON) of the daily chart.
    pub daily_chart: String,
    /// ECharts option (JSON) of the failures-per-result-type chart, when there are failures.
    pub result_chart: Option<String>,
    /// Whether the viewer may manage the domain (and acknowledge its problems).
    pub can_manage: bool,
}

/// One domain in an organization's (or an MSP's) overview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OverviewRow {
    /// The organization the domain belongs to.
    pub org: OrgRef,
    /// The domain.
    pub domain: DomainView,
    /// Successful sessions in the range.
    pub success: i64,
    /// Failed sessions in the range.
    pub failure: i64,
    /// Reports in the range.
    pub reports: i64,
    /// When the newest report in the range was received.
    pub last_received: Option<i64>,
    /// Open problems.
    pub open_problems: i64,
    /// The most severe open problem's severity.
    pub worst_problem: Option<String>,
}

impl OverviewRow {
    /// Successful sessions in per mille of all sessions, `None` without sessions.
    pub fn success_permille(&self) -> Option<i64> {
        let total = self.success + self.failure;
        (total > 0).then(|| self.success * 1000 / total)
    }
}

/// The overview of an organization's domains, and for an MSP those of its clients too.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Overview {
    /// The organization, with the viewer's role.
    pub org: OrgView,
    /// The days counted.
    pub range: crate::calendar::DayRange,
    /// One row per domain.
    pub rows: Vec<OverviewRow>,
}

/// One piece of evidence of a problem: a report row (or a check) and what it showed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceView {
    /// The stored report it comes from, if any.
    pub report: Option<i64>,
    /// The sender (`organization-name`), or `Moat` for Moat's own checks.
    pub sender: String,
    /// Unix seconds (the report's period start, or the check's time).
    pub at: i64,
    /// What it showed.
    pub text: String,
}

/// A problem the detector found for a domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProblemView {
    /// Id.
    pub id: i64,
    /// The organization.
    pub org_id: OrgId,
    /// The domain (A-label).
    pub domain: String,
    /// The domain for display.
    pub display_domain: String,
    /// Rule id, e.g. `mx-tls`.
    pub rule: String,
    /// What it is about within the domain (an MX host, a sender, a result type) or empty.
    pub subject: String,
    /// `info`, `warning` or `critical`.
    pub severity: String,
    /// `open` or `resolved`.
    pub status: String,
    /// One line.
    pub title: String,
    /// What was seen.
    pub detail: String,
    /// What to do.
    pub fix: String,
    /// The report rows (or checks) behind it, newest first.
    pub evidence: Vec<EvidenceView>,
    /// Unix seconds.
    pub opened_at: i64,
    /// Unix seconds.
    pub updated_at: i64,
    /// Unix seconds.
    pub resolved_at: Option<i64>,
    /// Unix seconds.
    pub acknowledged_at: Option<i64>,
    /// Who acknowledged it.
    pub acknowledged_by: Option<String>,
}

/// An organization's notification settings as its page shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationSettings {
    /// The webhook URL, if set.
    pub webhook_url: Option<String>,
    /// The signing secret (shown to those who may manage domains).
    pub webhook_secret: Option<String>,
    /// Hours between repeats of an open, unacknowledged problem.
    pub repeat_hours: i64,
    /// Least severity notified: `info`, `warning` or `critical`.
    pub min_severity: String,
    /// The viewer's own e-mail choice: `immediate`, `digest` or `off`.
    pub my_email: String,
    /// Whether the viewer may change the organization's settings.
    pub can_manage: bool,
}

/// One probe of one MX address, as the domain page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MxProbeView {
    /// The MX host name.
    pub mx_host: String,
    /// The address probed.
    pub addr: String,
    /// The port probed (25 in production).
    pub port: u16,
    /// Unix seconds.
    pub probed_at: i64,
    /// How long the probe took.
    pub duration_ms: i64,
    /// `ok`, `unreachable`, or the RFC 8460 result type a sending MTA would report.
    pub verdict: String,
    /// Why, in words.
    pub detail: String,
    /// Whether the server offered STARTTLS.
    pub starttls_offered: bool,
    /// `TLSv1.3`, when TLS was negotiated.
    pub tls_version: Option<String>,
    /// The cipher suite, when TLS was negotiated.
    pub cipher: Option<String>,
    /// The names on the server's certificate.
    pub cert_names: Vec<String>,
    /// When the server's certificate expires (Unix seconds).
    pub not_after: Option<i64>,
}

/// The testing → enforce checklist of a domain, with the MX probes and the policy lint behind it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadinessView {
    /// The checklist.
    pub readiness: crate::mta_sts::Readiness,
    /// The latest probe of every MX address.
    pub probes: Vec<MxProbeView>,
    /// The policy against the live MX hosts and their certificates.
    pub lint: Vec<crate::mta_sts::LintFinding>,
    /// Days of TLS reports the `reports` check looks at.
    pub window_days: u32,
}

/// A domain's MX change plan as the pages and the CLI show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MxPlanView {
    /// The current plan; `None` when nothing is being changed.
    pub plan: Option<crate::mta_sts::MxChangePlan>,
    /// The live MX hosts now, by preference.
    pub live_mx: Vec<String>,
    /// The `mx` patterns of the current policy.
    pub patterns: Vec<String>,
    /// The longest `max_age` (seconds) of any policy version served: how long a sender may
    /// keep a cached policy.
    pub longest_max_age: u32,
    /// When the plan (or the live MX snapshot) was last stored, unix seconds.
    pub updated_at: i64,
    /// Why the live MX hosts could not be looked up just now (the plan shown is then the
    /// stored one, not brought up to date).
    pub lookup_error: Option<String>,
}
