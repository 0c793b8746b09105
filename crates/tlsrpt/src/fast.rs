//! The fast path: one pass over a report written the way RFC 8460 §4.4 says.
//!
//! [`parse`] reads the bytes straight into the model, without building a JSON tree, and accepts
//! a strict subset of what the lenient walk in [`crate::parse`] accepts: the RFC's key names and
//! no others, the RFC's types (`null` meaning absent), integer counts,
//! dates written `YYYY-MM-DDTHH:MM:SSZ`, known policy and result types, every required field
//! present. On anything else it gives up with `None` and the lenient walk decides, so a report
//! can never be parsed differently depending on the path: where the fast path answers, its
//! [`Report`] is identical to the lenient one, warnings included. The tests and the
//! `parse_equivalence` fuzz target compare the two on every input.
//!
//! It records only the warnings that do not depend on the JSON's shape (an end at the next
//! midnight, counts that do not add up, a missing `contact-info`, `mx-host` or `policy-string` as
//! one string), through the same functions as the lenient walk.

use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::datetime::MAX_UNIX;
use crate::model::{DateRange, FailureDetail, Policy, PolicyResult, PolicyType, Report, ResultType, Summary};
use crate::parse::{
    ADDITIONAL_INFORMATION, CONTACT_INFO, Ctx, DATE_RANGE, END_DATETIME, FAILED_SESSION_COUNT, FAILURE_COUNT,
    FAILURE_DETAILS, FAILURE_REASON_CODE, Field, MX_HOST, ORGANIZATION_NAME, POLICIES, POLICY, POLICY_DOMAIN,
    POLICY_STRING, POLICY_TYPE, RECEIVING_IP, RECEIVING_MX_HELO, RECEIVING_MX_HOSTNAME, REPORT_ID,
    RESULT_TYPE, SENDING_MTA_IP, START_DATETIME, SUCCESS_COUNT, SUMMARY, check_range, parse_ip,
    unwrap_json_encoded, warn_count_mismatch, warn_missing_contact, warn_non_standard_key,
    warn_string_instead_of_array,
};

/// Parse `bytes` if it is a plain RFC 8460 report; `None` hands it to the lenient walk.
pub(crate) fn parse(bytes: &[u8]) -> Option<Report<'_>> {
    // Invalid UTF-8 anywhere is a JSON error (or a byte-order mark, which the lenient walk
    // warns about); checked once here, every string is then a slice of `text`.
    let text = simdutf8::basic::from_utf8(bytes).ok()?;
    let mut cur = Cursor { text, bytes, pos: 0 };
    let mut report = BLANK_REPORT;
    let mut keys = Keys::<5>::default();
    let mut date_keys = Keys::<2>::default();
    // The notes of the policies (by index) with something to warn about.
    let mut notes: Vec<(usize, PolicyNotes)> = Vec::new();
    cur.object(top_key, |cur, index, key| {
        match keys.resolve(&TOP, index, key)? {
            // A missing (or empty) identity gets warnings whose wording the lenient walk owns.
            0 => report.organization_name = cur.opt_text()??,
            1 => report.report_id = cur.opt_text()??,
            2 => date_range(cur, &mut report.date_range, &mut date_keys)?,
            3 => report.contact_info = cur.opt_text()?,
            _ => cur.array(|cur| {
                let mut policy_notes = PolicyNotes::default();
                report.policies.push(BLANK_RESULT);
                policy_result(cur, report.policies.last_mut()?, &mut policy_notes)?;
                if policy_notes.any_warning() {
                    notes.push((report.policies.len() - 1, policy_notes));
                }
                Some(())
            })?,
        }
        Some(())
    })?;
    // The identity, the dates and a policy list that is not empty are required (the lenient
    // walk has the wording for what is missing).
    if !cur.at_end() || keys.seen & 0b10111 != 0b10111 || report.policies.is_empty() {
        return None;
    }
    let mut ctx = Ctx::default();
    keys.warn(&TOP, 0, &[], &mut ctx);
    keys.warn(&TOP, 1, &[], &mut ctx);
    date_keys.warn_all(&DATES, &["date-range"], &mut ctx);
    check_range(report.date_range.start, report.date_range.end, &mut ctx);
    keys.warn(&TOP, 3, &[], &mut ctx);
    if report.contact_info.is_none() {
        warn_missing_contact(&mut ctx);
    }
    let mut notes = notes.iter().peekable();
    for (i, result) in report.policies.iter_mut().enumerate() {
        if let Some((_, notes)) = notes.next_if(|(j, _)| *j == i) {
            notes.warn(i, result, &mut ctx);
        }
        check_counts(i, result, &mut ctx)?;
    }
    report.warnings = ctx.finish();
    Some(report)
}

/// A JSON array of strings, read as `serde_json::from_str::<Vec<String>>` reads it (white space
/// around the values, escapes, nothing after the array); `None` where that fails.
pub(crate) fn string_array(text: &str) -> Option<Vec<String>> {
    let mut cur = Cursor {
        text,
        bytes: text.as_bytes(),
        pos: 0,
    };
    let mut out = Vec::new();
    cur.array(|cur| {
        out.push(cur.string()?.into_owned());
        Some(())
    })?;
    cur.at_end().then_some(out)
}

/// A report with nothing in it yet.
const BLANK_REPORT: Report<'static> = Report {
    organization_name: Cow::Borrowed(""),
    date_range: DateRange {
        start: 0,
        end: 0,
        start_datetime: Cow::Borrowed(""),
        end_datetime: Cow::Borrowed(""),
    },
    contact_info: None,
    report_id: Cow::Borrowed(""),
    policies: Vec::new(),
    warnings: Vec::new(),
};

/// The fields of each object, in the order the lenient walk looks them up (which is the order
/// of its warnings).
const TOP: [Field; 5] = [ORGANIZATION_NAME, REPORT_ID, DATE_RANGE, CONTACT_INFO, POLICIES];
const DATES: [Field; 2] = [START_DATETIME, END_DATETIME];
const ENTRY: [Field; 3] = [POLICY, FAILURE_DETAILS, SUMMARY];
const POLICY_FIELDS: [Field; 4] = [POLICY_TYPE, POLICY_STRING, MX_HOST, POLICY_DOMAIN];
const SUMMARY_FIELDS: [Field; 2] = [SUCCESS_COUNT, FAILURE_COUNT];
const DETAIL: [Field; 8] = [
    RESULT_TYPE,
    SENDING_MTA_IP,
    RECEIVING_IP,
    RECEIVING_MX_HOSTNAME,
    RECEIVING_MX_HELO,
    FAILED_SESSION_COUNT,
    ADDITIONAL_INFORMATION,
    FAILURE_REASON_CODE,
];

/// Whether `rest` (just after an opening quote) is the key `name` and its closing quote.
#[inline(always)]
fn named<const N: usize>(rest: &[u8], name: &[u8; N]) -> bool {
    rest.first_chunk::<N>() == Some(name) && rest.get(N) == Some(&b'"')
}

/// A key in RFC 8460's spelling at the start of `rest`: its index in [`TOP`] and its length
/// (other spellings: [`Keys::resolve`]).
#[inline]
fn top_key(rest: &[u8]) -> Option<(usize, usize)> {
    match rest.first()? {
        b'o' if named(rest, b"organization-name") => Some((0, 17)),
        b'r' if named(rest, b"report-id") => Some((1, 9)),
        b'd' if named(rest, b"date-range") => Some((2, 10)),
        b'c' if named(rest, b"contact-info") => Some((3, 12)),
        b'p' if named(rest, b"policies") => Some((4, 8)),
        _ => None,
    }
}

/// Like [`top_key`], for [`DATES`].
#[inline]
fn date_key(rest: &[u8]) -> Option<(usize, usize)> {
    match rest.first()? {
        b's' if named(rest, b"start-datetime") => Some((0, 14)),
        b'e' if named(rest, b"end-datetime") => Some((1, 12)),
        _ => None,
    }
}

/// Like [`top_key`], for [`ENTRY`].
#[inline]
fn entry_key(rest: &[u8]) -> Option<(usize, usize)> {
    match rest.first()? {
        b'p' if named(rest, b"policy") => Some((0, 6)),
        b'f' if named(rest, b"failure-details") => Some((1, 15)),
        b's' if named(rest, b"summary") => Some((2, 7)),
        _ => None,
    }
}

/// Like [`top_key`], for [`POLICY_FIELDS`].
#[inline]
fn policy_key(rest: &[u8]) -> Option<(usize, usize)> {
    if named(rest, b"policy-type") {
        Some((0, 11))
    } else if named(rest, b"policy-string") {
        Some((1, 13))
    } else if named(rest, b"mx-host") {
        Some((2, 7))
    } else if named(rest, b"policy-domain") {
        Some((3, 13))
    } else {
        None
    }
}

/// Like [`top_key`], for [`SUMMARY_FIELDS`].
#[inline]
fn summary_key(rest: &[u8]) -> Option<(usize, usize)> {
    if named(rest, b"total-successful-session-count") {
        Some((0, 30))
    } else if named(rest, b"total-failure-session-count") {
        Some((1, 27))
    } else {
        None
    }
}

/// Like [`top_key`], for [`DETAIL`].
#[inline]
fn detail_key(rest: &[u8]) -> Option<(usize, usize)> {
    match rest.first()? {
        b'r' if named(rest, b"result-type") => Some((0, 11)),
        b'r' if named(rest, b"receiving-ip") => Some((2, 12)),
        b'r' if named(rest, b"receiving-mx-hostname") => Some((3, 21)),
        b'r' if named(rest, b"receiving-mx-helo") => Some((4, 17)),
        b's' if named(rest, b"sending-mta-ip") => Some((1, 14)),
        b'f' if named(rest, b"failed-session-count") => Some((5, 20)),
        b'f' if named(rest, b"failure-reason-code") => Some((7, 19)),
        b'a' if named(rest, b"additional-information") => Some((6, 22)),
        _ => None,
    }
}

/// The keys seen in one object: which field each is, and the other spelling used for a field,
/// if any. A field given twice (also under two spellings) goes to the lenient walk, which, like
/// serde_json, keeps the last one and prefers RFC 8460's spelling.
#[derive(Clone, Copy)]
struct Keys<const N: usize> {
    seen: u16,
    /// Per field: 0 for RFC 8460's spelling, else 1 + the index of the other spelling used.
    other_spelling: [u8; N],
}

impl<const N: usize> Default for Keys<N> {
    fn default() -> Self {
        Self {
            seen: 0,
            other_spelling: [0; N],
        }
    }
}

impl<const N: usize> Keys<N> {
    /// The index in `fields` of `key` (`known` when it is RFC 8460's spelling); `None` for a
    /// key the fast path does not know.
    #[inline(always)]
    fn resolve(&mut self, fields: &[Field; N], known: Option<usize>, key: &[u8]) -> Option<usize> {
        let index = match known {
            Some(i) => i,
            None => self.other(fields, key)?,
        };
        let bit = 1u16 << index;
        if self.seen & bit != 0 {
            return None;
        }
        self.seen |= bit;
        Some(index)
    }

    /// The field that `key` is another spelling of, remembered for its warning.
    #[cold]
    fn other(&mut self, fields: &[Field; N], key: &[u8]) -> Option<usize> {
        let (i, k) = fields
            .iter()
            .enumerate()
            .find_map(|(i, (_, others))| others.iter().position(|o| o.as_bytes() == key).map(|k| (i, k)))?;
        *self.other_spelling.get_mut(i)? = u8::try_from(k + 1).ok()?;
        Some(i)
    }

    /// The lenient walk's warning for field `i` if it came under another spelling; `path` is
    /// the object's JSON path in parts.
    fn warn(&self, fields: &[Field; N], i: usize, path: &[&str], ctx: &mut Ctx) {
        let (name, others) = fields[i];
        if let Some(found) = usize::from(self.other_spelling[i])
            .checked_sub(1)
            .and_then(|k| others.get(k))
        {
            warn_non_standard_key(ctx, path, found, name);
        }
    }

    fn warn_all(&self, fields: &[Field; N], path: &[&str], ctx: &mut Ctx) {
        if self.any_other_spelling() {
            for i in 0..N {
                self.warn(fields, i, path, ctx);
            }
        }
    }

    fn any_other_spelling(&self) -> bool {
        self.other_spelling.iter().any(|&k| k != 0)
    }
}

/// What the lenient walk would warn about in one element of `policies`.
#[derive(Default)]
struct PolicyNotes {
    entry_keys: Keys<3>,
    policy_keys: Keys<4>,
    summary_keys: Keys<2>,
    /// Failure details (by index) with a field under another spelling.
    detail_keys: Vec<(usize, Keys<8>)>,
    policy_string_was_string: bool,
    policy_string_maybe_encoded: bool,
    mx_host_was_string: bool,
}

impl PolicyNotes {
    /// Record the warnings of policy `i` in the lenient walk's order, and split an encoded
    /// TLSA list as it does.
    #[cold]
    fn warn(&self, i: usize, result: &mut PolicyResult<'_>, ctx: &mut Ctx) {
        let mut index = itoa::Buffer::new();
        let i = index.format(i);
        let policy = ["policies[", i, "].policy"];
        self.policy_keys.warn(&POLICY_FIELDS, 0, &policy, ctx);
        self.policy_keys.warn(&POLICY_FIELDS, 1, &policy, ctx);
        if self.policy_string_was_string {
            warn_string_instead_of_array(ctx, &["policies[", i, "].policy.policy-string"]);
        }
        if self.policy_string_maybe_encoded {
            unwrap_json_encoded(&mut result.policy.policy_string, &policy, ctx);
        }
        self.policy_keys.warn(&POLICY_FIELDS, 2, &policy, ctx);
        if self.mx_host_was_string {
            warn_string_instead_of_array(ctx, &["policies[", i, "].policy.mx-host"]);
        }
        self.policy_keys.warn(&POLICY_FIELDS, 3, &policy, ctx);
        self.entry_keys.warn(&ENTRY, 1, &["policies[", i, "]"], ctx);
        for (j, keys) in &self.detail_keys {
            keys.warn_all(
                &DETAIL,
                &[
                    "policies[",
                    i,
                    "].failure-details[",
                    itoa::Buffer::new().format(*j),
                    "]",
                ],
                ctx,
            );
        }
        self.summary_keys
            .warn_all(&SUMMARY_FIELDS, &["policies[", i, "].summary"], ctx);
    }

    fn any_warning(&self) -> bool {
        self.policy_string_was_string
            || self.policy_string_maybe_encoded
            || self.mx_host_was_string
            || self.entry_keys.any_other_spelling()
            || self.policy_keys.any_other_spelling()
            || self.summary_keys.any_other_spelling()
            || !self.detail_keys.is_empty()
    }
}

/// The lenient walk's warning when the failure details of policy `i` do not add up to its
/// summary; `None` when their counts overflow (its error).
fn check_counts(i: usize, result: &PolicyResult<'_>, ctx: &mut Ctx) -> Option<()> {
    let details_sum = result
        .failure_details
        .iter()
        .try_fold(0u64, |acc, d| acc.checked_add(d.failed_session_count))?;
    let total = result.summary.total_failure_session_count;
    if !result.failure_details.is_empty() && total != details_sum {
        warn_count_mismatch(
            ctx,
            &["policies[", itoa::Buffer::new().format(i), "].summary"],
            total,
            details_sum,
        );
    }
    Some(())
}

/// Fill `dates` from a `date-range` object; both dates are required.
fn date_range<'a>(cur: &mut Cursor<'a>, dates: &mut DateRange<'a>, keys: &mut Keys<2>) -> Option<()> {
    cur.object(date_key, |cur, index, key| {
        let (raw, unix) = cur.date()?;
        if keys.resolve(&DATES, index, key)? == 0 {
            (dates.start_datetime, dates.start) = (raw, unix);
        } else {
            (dates.end_datetime, dates.end) = (raw, unix);
        }
        Some(())
    })?;
    (keys.seen == 0b11).then_some(())
}

/// A policy result with nothing in it yet.
const BLANK_RESULT: PolicyResult<'static> = PolicyResult {
    policy: Policy {
        policy_type: PolicyType::Sts,
        policy_string: Vec::new(),
        policy_domain: None,
        mx_host: Vec::new(),
    },
    summary: Summary {
        total_successful_session_count: 0,
        total_failure_session_count: 0,
    },
    failure_details: Vec::new(),
};

/// Fill `result` (blank) from one element of `policies`, in place. Kept out of line: inlined
/// into the top-level walk it costs more instructions (measured).
#[inline(never)]
fn policy_result<'a>(
    cur: &mut Cursor<'a>,
    result: &mut PolicyResult<'a>,
    notes: &mut PolicyNotes,
) -> Option<()> {
    let mut entry_keys = Keys::default();
    cur.object(entry_key, |cur, index, key| {
        match entry_keys.resolve(&ENTRY, index, key)? {
            0 => policy_object(cur, &mut result.policy, notes)?,
            1 => {
                if !cur.null() {
                    let details = &mut result.failure_details;
                    cur.array(|cur| {
                        let mut keys = Keys::default();
                        details.push(BLANK_DETAIL);
                        failure_detail(cur, &mut keys, details.last_mut()?)?;
                        if keys.any_other_spelling() {
                            notes.detail_keys.push((details.len() - 1, keys));
                        }
                        Some(())
                    })?;
                }
            }
            _ => result.summary = summary_object(cur, &mut notes.summary_keys)?,
        }
        Some(())
    })?;
    // The policy and the summary are required.
    if entry_keys.seen & 0b101 != 0b101 {
        return None;
    }
    notes.entry_keys = entry_keys;
    Some(())
}

/// Fill `policy` (blank) from a `policy` object, in place.
fn policy_object<'a>(cur: &mut Cursor<'a>, policy: &mut Policy<'a>, notes: &mut PolicyNotes) -> Option<()> {
    let mut keys = Keys::default();
    cur.object(policy_key, |cur, index, key| {
        match keys.resolve(&POLICY_FIELDS, index, key)? {
            0 => {
                let text = cur.opt_text()??;
                policy.policy_type = match text.as_bytes() {
                    b"sts" => PolicyType::Sts,
                    b"tlsa" => PolicyType::Tlsa,
                    b"no-policy-found" => PolicyType::NoPolicyFound,
                    _ => match PolicyType::from_wire(&text) {
                        PolicyType::Unknown(_) => return None,
                        known => known,
                    },
                };
            }
            1 => {
                notes.policy_string_was_string = cur.text_list(&mut policy.policy_string)?;
                // One element that looks like a JSON array: Microsoft's encoded TLSA list,
                // split (with a warning) in the lenient walk's order when the report is done.
                notes.policy_string_maybe_encoded =
                    matches!(policy.policy_string.as_slice(), [only] if only.starts_with('[') && only.ends_with(']'));
            }
            2 => notes.mx_host_was_string = cur.text_list(&mut policy.mx_host)?,
            // Without a policy-domain the lenient walk consults the hint.
            _ => policy.policy_domain = Some(cur.opt_text()??),
        }
        Some(())
    })?;
    // The policy type and the policy domain are required.
    if keys.seen & 0b1001 != 0b1001 {
        return None;
    }
    notes.policy_keys = keys;
    Some(())
}

fn summary_object(cur: &mut Cursor<'_>, keys: &mut Keys<2>) -> Option<Summary> {
    let (mut success, mut failure) = (None, None);
    cur.object(summary_key, |cur, index, key| {
        match keys.resolve(&SUMMARY_FIELDS, index, key)? {
            0 => success = Some(cur.count()?),
            _ => failure = Some(cur.count()?),
        }
        Some(())
    })?;
    Some(Summary {
        total_successful_session_count: success?,
        total_failure_session_count: failure?,
    })
}

/// A failure detail with nothing in it yet.
const BLANK_DETAIL: FailureDetail<'static> = FailureDetail {
    result_type: ResultType::ValidationFailure,
    sending_mta_ip: None,
    sending_mta_ip_raw: None,
    receiving_mx_hostname: None,
    receiving_mx_helo: None,
    receiving_ip: None,
    receiving_ip_raw: None,
    failed_session_count: 0,
    additional_information: None,
    failure_reason_code: None,
};

/// Fill `detail` (blank) from one element of `failure-details`, in place.
fn failure_detail<'a>(
    cur: &mut Cursor<'a>,
    keys: &mut Keys<8>,
    detail: &mut FailureDetail<'a>,
) -> Option<()> {
    let mut result_type = None;
    let mut count = None;
    cur.object(detail_key, |cur, index, key| {
        match keys.resolve(&DETAIL, index, key)? {
            0 => {
                let text = cur.opt_text()??;
                result_type = Some(result_type_of(&text)?);
            }
            1 => detail.sending_mta_ip = cur.opt_ip()?,
            2 => detail.receiving_ip = cur.opt_ip()?,
            3 => detail.receiving_mx_hostname = cur.opt_text()?,
            4 => detail.receiving_mx_helo = cur.opt_text()?,
            5 => count = Some(cur.count()?),
            6 => detail.additional_information = cur.opt_text()?,
            _ => detail.failure_reason_code = cur.opt_text()?,
        }
        Some(())
    })?;
    detail.result_type = result_type?;
    detail.failed_session_count = count?;
    Some(())
}

/// RFC 8460's result type spelled `text` (or another spelling the lenient walk also
/// knows); `None` for an unknown type, which the lenient walk keeps with a warning. By length
/// first, then one whole comparison: far fewer steps than a byte-by-byte match.
fn result_type_of(text: &str) -> Option<ResultType> {
    let known = match text.len() {
        12 if text == "tlsa-invalid" => ResultType::TlsaInvalid,
        13 if text == "dane-required" => ResultType::DaneRequired,
        14 if text == "dnssec-invalid" => ResultType::DnssecInvalid,
        18 if text == "validation-failure" => ResultType::ValidationFailure,
        18 if text == "sts-policy-invalid" => ResultType::StsPolicyInvalid,
        18 if text == "sts-webpki-invalid" => ResultType::StsWebpkiInvalid,
        19 if text == "certificate-expired" => ResultType::CertificateExpired,
        22 if text == "starttls-not-supported" => ResultType::StarttlsNotSupported,
        22 if text == "sts-policy-fetch-error" => ResultType::StsPolicyFetchError,
        23 if text == "certificate-not-trusted" => ResultType::CertificateNotTrusted,
        25 if text == "certificate-host-mismatch" => ResultType::CertificateHostMismatch,
        _ => match ResultType::from_wire(text) {
            ResultType::Unknown(_) => return None,
            other => other,
        },
    };
    Some(known)
}

/// Bytes that end the fast scan of a string: the closing quote, an escape, or a control
/// character (invalid in JSON).
static STRING_STOP: [bool; 256] = {
    let mut table = [false; 256];
    let mut i = 0;
    while i < 0x20 {
        table[i] = true;
        i += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table
};

/// The index of the first byte at or after `from` that ends a plain run of string characters
/// (see [`STRING_STOP`]), or `bytes.len()`. Sixteen bytes at a time.
#[inline]
fn find_string_stop(bytes: &[u8], mut from: usize) -> usize {
    while let Some(chunk) = bytes.get(from..).and_then(<[u8]>::first_chunk::<16>) {
        let hits = block::string_stops(chunk);
        if hits != 0 {
            return from + hits.trailing_zeros() as usize;
        }
        from += 16;
    }
    while let Some(&c) = bytes.get(from) {
        if STRING_STOP[usize::from(c)] {
            return from;
        }
        from += 1;
    }
    from
}

/// The index of the first byte at or after `from` that is not a space (indentation comes in
/// runs of spaces), or `bytes.len()`. Sixteen bytes at a time.
#[inline]
fn skip_spaces(bytes: &[u8], mut from: usize) -> usize {
    while let Some(chunk) = bytes.get(from..).and_then(<[u8]>::first_chunk::<16>) {
        let others = block::non_spaces(chunk);
        if others != 0 {
            return from + others.trailing_zeros() as usize;
        }
        from += 16;
    }
    while bytes.get(from) == Some(&b' ') {
        from += 1;
    }
    from
}

/// Sixteen bytes classified at once: bit `i` of each answer is about byte `i`. SSE2 (part of
/// every x86-64 CPU, and its intrinsics are safe to call there) where there is SSE2, SWAR on
/// two 64-bit words elsewhere; the tests hold both to the byte-by-byte definition.
mod block {
    /// Bytes that end a plain run of string characters: `"`, `\\` and control characters.
    #[inline(always)]
    pub(super) fn string_stops(chunk: &[u8; 16]) -> u32 {
        imp::string_stops(chunk)
    }

    /// Bytes other than the space character.
    #[inline(always)]
    pub(super) fn non_spaces(chunk: &[u8; 16]) -> u32 {
        imp::non_spaces(chunk)
    }

    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    use sse2 as imp;
    #[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
    use swar as imp;

    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    mod sse2 {
        use safe_arch::{
            cmp_eq_mask_i8_m128i, load_unaligned_m128i, m128i, min_u8_m128i, move_mask_i8_m128i,
            set_splat_i8_m128i,
        };

        /// The sign bit of each of the 16 bytes: the low 16 bits, never negative.
        #[inline(always)]
        fn mask(v: m128i) -> u32 {
            move_mask_i8_m128i(v).cast_unsigned()
        }

        #[inline(always)]
        fn splat(byte: u8) -> m128i {
            set_splat_i8_m128i(byte.cast_signed())
        }

        #[inline(always)]
        pub(super) fn string_stops(chunk: &[u8; 16]) -> u32 {
            let v = load_unaligned_m128i(chunk);
            // Unsigned v <= 0x1f exactly when min(v, 0x1f) == v.
            let control = cmp_eq_mask_i8_m128i(min_u8_m128i(v, splat(0x1f)), v);
            mask(cmp_eq_mask_i8_m128i(v, splat(b'"')) | cmp_eq_mask_i8_m128i(v, splat(b'\\')) | control)
        }

        #[inline(always)]
        pub(super) fn non_spaces(chunk: &[u8; 16]) -> u32 {
            !mask(cmp_eq_mask_i8_m128i(load_unaligned_m128i(chunk), splat(b' '))) & 0xffff
        }
    }

    /// The portable version, also tested where SSE2 is used.
    #[cfg_attr(all(target_arch = "x86_64", target_feature = "sse2"), allow(dead_code))]
    pub(super) mod swar {
        const ONES: u64 = 0x0101_0101_0101_0101;
        const HIGH: u64 = 0x8080_8080_8080_8080;
        const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;

        /// The high bit of each byte of `flags` packed into 8 bits, lowest byte first.
        fn pack(flags: u64) -> u32 {
            ((flags & HIGH).wrapping_mul(0x0002_0408_1020_4081) >> 56) as u32
        }

        /// `flags` applied to both halves of `chunk`, packed.
        fn halves(chunk: &[u8; 16], flags: impl Fn(u64) -> u64) -> u32 {
            let v = u128::from_le_bytes(*chunk);
            pack(flags(v as u64)) | pack(flags((v >> 64) as u64)) << 8
        }

        /// The high bit of each byte that is not zero; exact (no borrow between bytes).
        fn non_zero(x: u64) -> u64 {
            ((x & LOW7) + LOW7) | x
        }

        pub(in super::super) fn string_stops(chunk: &[u8; 16]) -> u32 {
            halves(chunk, |word| {
                // The high bit of each byte at or above 0x20.
                let printable = ((word & LOW7) + ONES * 0x60) | word;
                !non_zero(word ^ (ONES * u64::from(b'"')))
                    | !non_zero(word ^ (ONES * u64::from(b'\\')))
                    | !printable
            })
        }

        pub(in super::super) fn non_spaces(chunk: &[u8; 16]) -> u32 {
            halves(chunk, |word| non_zero(word ^ (ONES * u64::from(b' '))))
        }
    }
}

/// A position in the input. Every method returns `None` when the input is not what the fast
/// path handles, and then the caller gives up.
struct Cursor<'a> {
    /// The input, known to be UTF-8.
    text: &'a str,
    /// The same, as bytes.
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    /// Skip JSON white space and return the next byte.
    #[inline(always)]
    fn peek(&mut self) -> Option<u8> {
        let c = *self.bytes.get(self.pos)?;
        // JSON white space is all at or below the space character.
        if c > b' ' { Some(c) } else { self.peek_past_space() }
    }

    /// [`Self::peek`] when the cursor is on a byte that may be white space.
    fn peek_past_space(&mut self) -> Option<u8> {
        loop {
            let c = *self.bytes.get(self.pos)?;
            if !matches!(c, b' ' | b'\n' | b'\r' | b'\t') {
                return Some(c);
            }
            // A line break, then the indentation (or a run of other white space).
            self.pos = skip_spaces(self.bytes, self.pos + 1);
            let c = *self.bytes.get(self.pos)?;
            if c > b' ' {
                return Some(c);
            }
        }
    }

    #[inline]
    fn eat(&mut self, byte: u8) -> bool {
        if self.peek() == Some(byte) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn at_end(&mut self) -> bool {
        self.peek().is_none()
    }

    /// `{ "key": value, ... }`, calling `field` with the cursor on each value.
    #[inline(always)]
    fn object(
        &mut self,
        known: impl Fn(&[u8]) -> Option<(usize, usize)> + Copy,
        mut field: impl FnMut(&mut Self, Option<usize>, &'a [u8]) -> Option<()>,
    ) -> Option<()> {
        if !self.eat(b'{') {
            return None;
        }
        if self.eat(b'}') {
            return Some(());
        }
        loop {
            let (index, key, colon) = self.key(known)?;
            if !colon && !self.eat(b':') {
                return None;
            }
            field(self, index, key)?;
            match self.peek()? {
                b',' => self.pos += 1,
                b'}' => {
                    self.pos += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// `[ value, ... ]`, calling `item` with the cursor on each value.
    fn array(&mut self, mut item: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        if !self.eat(b'[') {
            return None;
        }
        if self.eat(b']') {
            return Some(());
        }
        loop {
            item(self)?;
            match self.peek()? {
                b',' => self.pos += 1,
                b']' => {
                    self.pos += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// `null` (the lenient walk reads it as an absent field).
    fn null(&mut self) -> bool {
        if self.peek() == Some(b'n') && self.bytes.get(self.pos..self.pos + 4) == Some(b"null") {
            self.pos += 4;
            true
        } else {
            false
        }
    }

    /// A key without escapes (one with escapes goes to the lenient walk), as bytes.
    #[inline(always)]
    ///
    /// A known key is usually followed by its colon and one space or none: those are taken
    /// with it, and the last answer says so.
    #[allow(clippy::type_complexity)]
    fn key(
        &mut self,
        known: impl Fn(&[u8]) -> Option<(usize, usize)>,
    ) -> Option<(Option<usize>, &'a [u8], bool)> {
        if !self.eat(b'"') {
            return None;
        }
        let start = self.pos;
        let bytes: &'a [u8] = self.bytes;
        let rest = bytes.get(start..)?;
        if let Some((index, len)) = known(rest) {
            // The closing quote, then the colon and a space, or the colon alone.
            let (taken, colon) = match rest.get(len + 1..len + 3) {
                Some(b": ") => (3, true),
                Some([b':', _]) => (2, true),
                _ => (1, false),
            };
            self.pos = start + len + taken;
            return Some((Some(index), rest.get(..len)?, colon));
        }
        let stop = find_string_stop(self.bytes, start);
        if self.bytes.get(stop) != Some(&b'"') {
            return None;
        }
        self.pos = stop + 1;
        Some((None, self.bytes.get(start..stop)?, false))
    }

    /// A string: borrowed from the input unless it has escapes.
    #[inline]
    fn string(&mut self) -> Option<Cow<'a, str>> {
        if !self.eat(b'"') {
            return None;
        }
        self.string_body()
    }

    /// The rest of a string, the cursor just after its opening quote.
    #[inline]
    fn string_body(&mut self) -> Option<Cow<'a, str>> {
        let start = self.pos;
        let stop = find_string_stop(self.bytes, start);
        match self.bytes.get(stop)? {
            b'"' => {
                self.pos = stop + 1;
                // The quote is ASCII, so both ends are character boundaries.
                self.text.get(start..stop).map(Cow::Borrowed)
            }
            b'\\' => self.unescape().map(Cow::Owned),
            _ => None,
        }
    }

    /// The rest of a string that has escapes (the cursor is just after the opening quote).
    fn unescape(&mut self) -> Option<String> {
        // Room for a typical escaped value at once (growing step by step costs more).
        let mut out: Vec<u8> = Vec::with_capacity(self.bytes.len().saturating_sub(self.pos).min(256));
        loop {
            let stop = find_string_stop(self.bytes, self.pos);
            out.extend_from_slice(self.bytes.get(self.pos..stop)?);
            self.pos = stop + 1;
            match self.bytes.get(stop)? {
                b'"' => return String::from_utf8(out).ok(),
                b'\\' => {
                    let escaped = *self.bytes.get(self.pos)?;
                    self.pos += 1;
                    let byte = match escaped {
                        b'"' => b'"',
                        b'\\' => b'\\',
                        b'/' => b'/',
                        b'b' => 0x08,
                        b'f' => 0x0c,
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'u' => {
                            let c = self.unicode_escape()?;
                            out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                            continue;
                        }
                        _ => return None,
                    };
                    out.push(byte);
                }
                // A control character: not JSON.
                _ => return None,
            }
        }
    }

    /// The `XXXX` of `\uXXXX` (and a following low surrogate); a lone surrogate is not
    /// accepted, as serde_json does not accept it.
    fn unicode_escape(&mut self) -> Option<char> {
        let first = self.hex4()?;
        if (0xD800..0xDC00).contains(&first) {
            if self.bytes.get(self.pos..self.pos + 2) != Some(b"\\u") {
                return None;
            }
            self.pos += 2;
            let second = self.hex4()?;
            if !(0xDC00..0xE000).contains(&second) {
                return None;
            }
            char::from_u32(0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00))
        } else {
            char::from_u32(first)
        }
    }

    fn hex4(&mut self) -> Option<u32> {
        let digits = self.bytes.get(self.pos..self.pos + 4)?;
        self.pos += 4;
        digits
            .iter()
            .try_fold(0u32, |acc, &c| char::from(c).to_digit(16).map(|d| acc * 16 + d))
    }

    /// A date written `"YYYY-MM-DDTHH:MM:SSZ"`: its text and its Unix time. The usual 20
    /// characters between quotes are read in place, without looking for the string's end (a
    /// date has no quote, escape or control character).
    fn date(&mut self) -> Option<(Cow<'a, str>, i64)> {
        if self.peek()? == b'"' && self.bytes.get(self.pos + 21) == Some(&b'"') {
            let raw = self.text.get(self.pos + 1..self.pos + 21)?;
            if let Some(unix) = rfc3339_utc(raw) {
                self.pos += 22;
                return Some((Cow::Borrowed(raw), unix));
            }
        }
        let raw = self.string()?;
        let unix = rfc3339_utc(&raw)?;
        Some((raw, unix))
    }

    /// A string or `null`, trimmed; an empty string counts as absent, as in the lenient walk.
    #[inline]
    fn opt_text(&mut self) -> Option<Option<Cow<'a, str>>> {
        match self.peek()? {
            b'"' => {
                self.pos += 1;
                self.text_body()
            }
            _ => self.null().then_some(None),
        }
    }

    /// The rest of a string, trimmed (`None` inside when nothing is left), the cursor just
    /// after its opening quote.
    #[inline(always)]
    fn text_body(&mut self) -> Option<Option<Cow<'a, str>>> {
        let start = self.pos;
        let stop = find_string_stop(self.bytes, start);
        if self.bytes.get(stop) != Some(&b'"') {
            return self.escaped_text_body();
        }
        self.pos = stop + 1;
        // The quote is ASCII, so both ends are character boundaries.
        let text = self.text.get(start..stop)?;
        // Most values start and end with a visible ASCII character: nothing to trim.
        if let (Some(b'!'..=b'~'), Some(b'!'..=b'~')) = (text.as_bytes().first(), text.as_bytes().last()) {
            return Some(Some(Cow::Borrowed(text)));
        }
        let text = text.trim();
        Some((!text.is_empty()).then_some(Cow::Borrowed(text)))
    }

    /// [`Self::text_body`] of a string with escapes (or not JSON).
    #[cold]
    fn escaped_text_body(&mut self) -> Option<Option<Cow<'a, str>>> {
        Some(trimmed(self.string_body()?))
    }

    /// An IP address, or absent; text that is not an address is left to the lenient walk,
    /// which keeps it with a warning.
    fn opt_ip(&mut self) -> Option<Option<IpAddr>> {
        // A dotted quad straight from the bytes when the closing quote follows it.
        if self.peek()? == b'"'
            && let Some((ip, len)) = ipv4_prefix(self.bytes.get(self.pos + 1..)?)
            && self.bytes.get(self.pos + 1 + len) == Some(&b'"')
        {
            self.pos += len + 2;
            return Some(Some(IpAddr::V4(ip)));
        }
        match self.opt_text()? {
            None => Some(None),
            Some(text) => ipv4_dotted(&text)
                .map(IpAddr::V4)
                .or_else(|| ipv6_groups(text.as_bytes()).map(IpAddr::V6))
                .or_else(|| parse_ip(&text))
                .map(Some),
        }
    }

    /// An array of strings (or one string, which the lenient walk warns about: returns
    /// whether it was one), each trimmed, empty ones dropped.
    fn text_list(&mut self, out: &mut Vec<Cow<'a, str>>) -> Option<bool> {
        if self.null() {
            return Some(false);
        }
        if self.eat(b'"') {
            let Some(text) = self.text_body()? else {
                return Some(false);
            };
            out.push(text);
            return Some(true);
        }
        self.array(|cur| {
            if !cur.eat(b'"') {
                return None;
            }
            if let Some(text) = cur.text_body()? {
                out.push(text);
            }
            Some(())
        })?;
        Some(false)
    }

    /// A non-negative JSON integer that fits in `u64`.
    fn count(&mut self) -> Option<u64> {
        let first = self.peek()?.wrapping_sub(b'0');
        if first > 9 {
            return None;
        }
        let mut pos = self.pos + 1;
        let mut value = u64::from(first);
        while let Some(digit) = self
            .bytes
            .get(pos)
            .map(|c| c.wrapping_sub(b'0'))
            .filter(|&d| d <= 9)
        {
            // JSON has no leading zeros.
            if value == 0 {
                return None;
            }
            value = value.checked_mul(10)?.checked_add(u64::from(digit))?;
            pos += 1;
        }
        self.pos = pos;
        Some(value)
    }
}

/// A plain dotted-quad IPv4 address (no leading zeros, as the standard parser requires);
/// anything else is left to [`parse_ip`].
fn ipv4_dotted(text: &str) -> Option<Ipv4Addr> {
    ipv4_prefix(text.as_bytes()).and_then(|(ip, len)| (len == text.len()).then_some(ip))
}

/// A dotted-quad IPv4 address at the start of `b`, and its length.
#[inline]
fn ipv4_prefix(b: &[u8]) -> Option<(Ipv4Addr, usize)> {
    let digit = |i: usize| {
        b.get(i)
            .filter(|c| c.is_ascii_digit())
            .map(|c| u16::from(c - b'0'))
    };
    let mut octets = [0u8; 4];
    let mut i = 0;
    for (n, octet) in octets.iter_mut().enumerate() {
        if n > 0 {
            if b.get(i) != Some(&b'.') {
                return None;
            }
            i += 1;
        }
        let mut value = digit(i)?;
        i += 1;
        // A leading zero stands alone; otherwise up to two more digits.
        if value != 0 {
            for _ in 0..2 {
                let Some(d) = digit(i) else { break };
                value = value * 10 + d;
                i += 1;
            }
        }
        *octet = u8::try_from(value).ok()?;
    }
    Some((Ipv4Addr::from(octets), i))
}

/// An IPv6 address written as hexadecimal groups (at most one `::`); anything else (an embedded
/// IPv4 address, brackets, a prefix) is left to [`parse_ip`]. Where it answers, it agrees with
/// the standard parser.
fn ipv6_groups(text: &[u8]) -> Option<Ipv6Addr> {
    let mut groups = [0u16; 8];
    let mut count = 0;
    let mut gap = None;
    let mut i = 0;
    if text.starts_with(b"::") {
        gap = Some(0);
        i = 2;
        if text.len() == 2 {
            return Some(Ipv6Addr::UNSPECIFIED);
        }
    }
    loop {
        let (mut value, mut digits) = (0u16, 0);
        while let Some(&c) = text.get(i) {
            let d = HEX_VALUE[usize::from(c)];
            if d > 15 {
                break;
            }
            if digits == 4 {
                return None;
            }
            value = (value << 4) | u16::from(d);
            digits += 1;
            i += 1;
        }
        if digits == 0 || count == 8 {
            return None;
        }
        groups[count] = value;
        count += 1;
        match text.get(i) {
            None => break,
            Some(b':') => i += 1,
            Some(_) => return None,
        }
        if text.get(i) == Some(&b':') {
            if gap.is_some() {
                return None;
            }
            gap = Some(count);
            i += 1;
            if i == text.len() {
                break;
            }
        }
    }
    match gap {
        None if count == 8 => Some(Ipv6Addr::from(groups)),
        Some(at) if count <= 7 => {
            let mut full = [0u16; 8];
            full[..at].copy_from_slice(&groups[..at]);
            let tail = count - at;
            full[8 - tail..].copy_from_slice(&groups[at..count]);
            Some(Ipv6Addr::from(full))
        }
        _ => None,
    }
}

/// The value of each byte as a hexadecimal digit; 255 for the bytes that are not one.
static HEX_VALUE: [u8; 256] = {
    let mut table = [255u8; 256];
    let mut i = 0;
    while i < 10 {
        table[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        table[b'a' as usize + i] = 10 + i as u8;
        table[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    table
};

/// `text` without surrounding white space; `None` when nothing is left. (Plain strings are
/// trimmed in [`Cursor::text_body`]; this is for those with escapes.)
fn trimmed(text: Cow<'_, str>) -> Option<Cow<'_, str>> {
    match text {
        Cow::Borrowed(s) => Some(s.trim()).filter(|t| !t.is_empty()).map(Cow::Borrowed),
        Cow::Owned(s) => {
            let t = s.trim();
            if t.is_empty() {
                None
            } else if t.len() == s.len() {
                Some(Cow::Owned(s))
            } else {
                Some(Cow::Owned(t.to_owned()))
            }
        }
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` as UTC Unix seconds, within the range the lenient parser accepts.
fn rfc3339_utc(text: &str) -> Option<i64> {
    let b: &[u8; 20] = text.as_bytes().try_into().ok()?;
    // The digits' values (a byte below '0' wraps around to a large value).
    let d = |i: usize| b[i].wrapping_sub(b'0');
    let digits = [
        d(0),
        d(1),
        d(2),
        d(3),
        d(5),
        d(6),
        d(8),
        d(9),
        d(11),
        d(12),
        d(14),
        d(15),
        d(17),
        d(18),
    ];
    if digits.iter().fold(0, |any, &v| any | u8::from(v > 9)) != 0
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
        || b[19] != b'Z'
    {
        return None;
    }
    let two = |hi: u8, lo: u8| i64::from(hi * 10 + lo);
    let [y0, y1, y2, y3, mo0, mo1, d0, d1, h0, h1, mi0, mi1, s0, s1] = digits;
    let year = two(y0, y1) * 100 + two(y2, y3);
    let (month, day) = (two(mo0, mo1), two(d0, d1));
    let (hour, minute, second) = (two(h0, h1), two(mi0, mi1), two(s0, s1));
    unix_time(year, month, day, hour, minute, second)
}

/// A UTC date and time of day as Unix seconds, when each part is in range and the result
/// within the range the lenient parser accepts.
#[inline]
fn unix_time(year: i64, month: i64, day: i64, hour: i64, minute: i64, second: i64) -> Option<i64> {
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let unix = days_from_civil(year, month, day) * 86_400 + hour * 3_600 + minute * 60 + second;
    (0..=MAX_UNIX).contains(&unix).then_some(unix)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The splitter of Microsoft's encoded TLSA lists reads exactly what serde_json reads.
    #[test]
    fn string_array_reads_what_serde_json_reads() {
        let cases = [
            r#"["3 1 1 6007EEE5","3 1 1 837C773D"]"#,
            r#"[ "a" , "b" ]"#,
            "[\n\t\"a\"\r\n]",
            "[]",
            "[ ]",
            r#"["esc \" \\ \/ \b \f \n \r \t \u00e9 \ud83d\ude00"]"#,
            r#"["caf\u00e9", "naïve"]"#,
            r#"["lone \ud800"]"#,
            r#"["lone \udc00"]"#,
            r#"["bad \x"]"#,
            "[\"control \u{1}\"]",
            r#"["a",]"#,
            r#"["a" "b"]"#,
            r#"["a"] x"#,
            r#"["a"]  "#,
            r#"[1]"#,
            r#"[null]"#,
            r#"[["a"]]"#,
            r#"["a""#,
            r#"["#,
            "",
            "[\u{a0}\"a\"]",
        ];
        for text in cases {
            let serde = serde_json::from_str::<Vec<String>>(text).ok();
            assert_eq!(string_array(text), serde, "{text:?}");
        }
        assert_eq!(
            string_array(r#"["3 1 1 AB","3 1 1 CD"]"#),
            Some(vec!["3 1 1 AB".to_owned(), "3 1 1 CD".to_owned()])
        );
    }

    /// The fast path matches keys exactly, the lenient walk loosely (case, separators): they
    /// agree only if no two names of different fields of one object match loosely.
    #[test]
    fn no_two_fields_of_an_object_look_alike() {
        fn check(fields: &[Field]) {
            for (i, a) in fields.iter().enumerate() {
                for b in &fields[i + 1..] {
                    for x in std::iter::once(&a.0).chain(a.1) {
                        for y in std::iter::once(&b.0).chain(b.1) {
                            assert!(!crate::parse::same_key(x, y), "{x} and {y}");
                        }
                    }
                }
            }
        }
        check(&TOP);
        check(&DATES);
        check(&ENTRY);
        check(&POLICY_FIELDS);
        check(&SUMMARY_FIELDS);
        check(&DETAIL);
    }

    #[test]
    fn dotted_quads_match_the_standard_parser() {
        for text in [
            "192.0.2.1",
            "0.0.0.0",
            "255.255.255.255",
            "256.1.1.1",
            "01.2.3.4",
            "1.2.3",
            "1.2.3.4.5",
            "1..2.3",
            "1.2.3.4 ",
            "",
            "a.b.c.d",
            "1.2.3.+4",
            "1.2.3.04",
            "00.1.2.3",
            "1.2.3.4.",
            ".1.2.3.4",
            "1.2.3.256",
            "1.2.3.1000",
            "10.0.0.10",
            "199.255.100.9",
        ] {
            assert_eq!(ipv4_dotted(text), text.parse::<Ipv4Addr>().ok(), "{text}");
        }
        // And 200,000 pseudo-random strings of up to 15 characters from a small alphabet.
        let alphabet = b"0123459.";
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..200_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let len = (state % 16) as usize;
            let text: String = (0..len)
                .map(|k| char::from(alphabet[((state >> (4 + 3 * k)) & 7) as usize]))
                .collect();
            assert_eq!(ipv4_dotted(&text), text.parse::<Ipv4Addr>().ok(), "{text}");
        }
    }

    #[test]
    fn ipv6_groups_match_the_standard_parser() {
        for text in [
            "2001:db8:abcd:0012::1",
            "2001:db8::",
            "::",
            "::1",
            "1::",
            "1:2:3:4:5:6:7:8",
            "1:2:3:4:5:6:7::",
            "::2:3:4:5:6:7:8",
            "1:2:3:4:5:6:7:8::",
            "::1:2:3:4:5:6:7:8",
            "1:2:3:4:5:6:7",
            "1:2:3:4:5:6:7:8:9",
            "1::2::3",
            ":::",
            ":1::",
            "1:",
            "1::2:",
            "12345::1",
            "FFFF:ffff::0000:0",
            "1:2::3.4.5.6",
            "g::1",
            "",
            ":",
            "1:::2",
        ] {
            if let Some(quick) = ipv6_groups(text.as_bytes()) {
                assert_eq!(Some(quick), text.parse::<Ipv6Addr>().ok(), "{text}");
            } else {
                assert!(text.parse::<Ipv6Addr>().is_err() || text.contains('.'), "{text}");
            }
        }
    }

    #[test]
    fn known_keys_match_the_fields() {
        fn check(fields: &[Field], known: fn(&[u8]) -> Option<(usize, usize)>) {
            for (i, (name, others)) in fields.iter().enumerate() {
                assert_eq!(
                    known(format!("{name}\"").as_bytes()),
                    Some((i, name.len())),
                    "{name}"
                );
                assert_eq!(known(name.as_bytes()), None, "{name}");
                assert_eq!(known(format!("{name}x\"").as_bytes()), None, "{name}");
                for other in *others {
                    assert_eq!(known(format!("{other}\"").as_bytes()), None, "{other}");
                }
            }
        }
        check(&TOP, top_key);
        check(&DATES, date_key);
        check(&ENTRY, entry_key);
        check(&POLICY_FIELDS, policy_key);
        check(&SUMMARY_FIELDS, summary_key);
        check(&DETAIL, detail_key);
    }

    #[test]
    fn skips_spaces() {
        assert_eq!(skip_spaces(b"            x", 0), 12);
        assert_eq!(skip_spaces(b"  \t ", 0), 2);
        assert_eq!(skip_spaces(b"                ", 3), 16);
        assert_eq!(skip_spaces(b"                     ]", 1), 21);
        assert_eq!(skip_spaces("        \u{a0}".as_bytes(), 0), 8);
    }

    #[test]
    fn finds_string_stops() {
        let text = b"0123456789abcdef\"0123456789\\x\x01";
        assert_eq!(find_string_stop(text, 0), 16);
        assert_eq!(find_string_stop(text, 17), 27);
        assert_eq!(find_string_stop(text, 28), 29);
        assert_eq!(find_string_stop(b"abc", 0), 3);
        assert_eq!(
            find_string_stop("\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\"".as_bytes(), 0),
            10
        );
    }

    #[test]
    fn blocks_classify_every_byte_as_defined() {
        let expected = |chunk: &[u8; 16], stop: &dyn Fn(u8) -> bool| {
            (0..16)
                .filter(|&i| stop(chunk[i]))
                .fold(0u32, |acc, i| acc | 1 << i)
        };
        let is_stop = |c: u8| STRING_STOP[usize::from(c)];
        let not_space = |c: u8| c != b' ';
        // Every byte value at every position, among neighbours that are stops, spaces and
        // ordinary characters in turn (a borrow or carry between bytes would show).
        for background in [b'a', b' ', b'\n', b'\t', b'"', 0x00, 0x1f, 0x20, 0x7f, 0x80, 0xff] {
            for position in 0..16 {
                for byte in 0..=255u8 {
                    let mut chunk = [background; 16];
                    chunk[position] = byte;
                    for (name, got) in [
                        ("block", block::string_stops(&chunk)),
                        ("swar", block::swar::string_stops(&chunk)),
                    ] {
                        assert_eq!(got, expected(&chunk, &is_stop), "{name} string_stops {chunk:?}");
                    }
                    for (name, got) in [
                        ("block", block::non_spaces(&chunk)),
                        ("swar", block::swar::non_spaces(&chunk)),
                    ] {
                        assert_eq!(got, expected(&chunk, &not_space), "{name} non_spaces {chunk:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn reads_counts_as_json_integers() {
        let count = |text: &str| {
            let mut cur = Cursor {
                text,
                bytes: text.as_bytes(),
                pos: 0,
            };
            cur.count().map(|n| (n, cur.pos))
        };
        assert_eq!(count("0"), Some((0, 1)));
        assert_eq!(count(" 0,"), Some((0, 2)));
        assert_eq!(count("7}"), Some((7, 1)));
        assert_eq!(count("5326\n"), Some((5326, 4)));
        assert_eq!(count("18446744073709551615"), Some((u64::MAX, 20)));
        assert_eq!(
            count("1.5"),
            Some((1, 1)),
            "the fraction is left for the caller to refuse"
        );
        for refused in [
            "",
            " ",
            "01",
            "00",
            "-1",
            "+1",
            "x",
            "18446744073709551616",
            "99999999999999999999",
        ] {
            assert_eq!(count(refused), None, "{refused:?}");
        }
    }

    #[test]
    fn result_types_match_the_models_reading() {
        for known in &ResultType::KNOWN {
            let wire = known.as_str();
            assert_eq!(result_type_of(wire).as_ref(), Some(known), "{wire}");
            let upper = wire.to_ascii_uppercase();
            assert_eq!(result_type_of(&upper).as_ref(), Some(known), "{upper}");
        }
        for unknown in [
            "",
            "certificate-expire",
            "certificate-expiredx",
            "tlsa_invalid",
            "validation-failur3",
        ] {
            assert_eq!(result_type_of(unknown), None, "{unknown:?}");
        }
    }

    /// The first, byte-by-byte version of [`rfc3339_utc`], kept as the oracle of how it reads
    /// the digits (the calendar arithmetic after that is shared; `dates_match_the_time_crate`
    /// holds it to the general date reader).
    fn rfc3339_utc_byte_by_byte(text: &str) -> Option<i64> {
        let b = text.as_bytes();
        if b.len() != 20
            || b[4] != b'-'
            || b[7] != b'-'
            || b[10] != b'T'
            || b[13] != b':'
            || b[16] != b':'
            || b[19] != b'Z'
        {
            return None;
        }
        let num = |from: usize, to: usize| -> Option<i64> {
            b.get(from..to)?.iter().try_fold(0i64, |acc, &c| {
                c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0'))
            })
        };
        let (year, month, day) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
        let (hour, minute, second) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
        unix_time(year, month, day, hour, minute, second)
    }

    /// [`rfc3339_utc`] agrees with its byte-by-byte oracle on 300,000 generated near-dates.
    #[test]
    fn dates_match_the_byte_by_byte_reader() {
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut valid = 0;
        for _ in 0..300_000 {
            let mut bytes = *b"2016-04-01T23:59:59Z";
            // Plausible digits everywhere, then now and then one odd byte.
            for (i, slot) in bytes.iter_mut().enumerate() {
                if !matches!(i, 4 | 7 | 10 | 13 | 16 | 19) {
                    *slot = b'0' + (next() % 10) as u8;
                }
            }
            bytes[0] = b'1' + (next() % 2) as u8;
            bytes[5] = b'0' + (next() % 2) as u8;
            bytes[8] = b'0' + (next() % 4) as u8;
            bytes[11] = b'0' + (next() % 3) as u8;
            bytes[14] = b'0' + (next() % 7) as u8;
            bytes[17] = b'0' + (next() % 7) as u8;
            if next() % 4 == 0 {
                let at = (next() % 20) as usize;
                let odd = b"/:-T Zz0a\x7f";
                bytes[at] = odd[(next() % odd.len() as u64) as usize];
            }
            let text = String::from_utf8_lossy(&bytes);
            let quick = rfc3339_utc(&text);
            valid += usize::from(quick.is_some());
            assert_eq!(quick, rfc3339_utc_byte_by_byte(&text), "{text}");
        }
        assert!(valid > 10_000, "too few valid dates generated: {valid}");
    }

    #[test]
    fn dates_match_the_time_crate() {
        for text in [
            "1970-01-01T00:00:00Z",
            "2016-04-01T00:00:00Z",
            "2016-04-01T23:59:59Z",
            "2000-02-29T12:00:00Z",
            "2100-03-01T00:00:00Z",
            "9999-12-31T23:59:59Z",
        ] {
            let expected = crate::datetime::parse_str(text).map(|d| d.unix);
            assert_eq!(rfc3339_utc(text), expected, "{text}");
        }
        for text in [
            "2016-02-30T00:00:00Z",
            "2100-02-29T00:00:00Z",
            "2016-04-01T24:00:00Z",
            "2016-04-01T00:00:60Z",
            "2016-04-01t00:00:00Z",
            "2016-04-01T00:00:00+00:00",
            "1969-12-31T23:59:59Z",
            "2016-04-01T00:00:0xZ",
        ] {
            assert_eq!(rfc3339_utc(text), None, "{text}");
        }
    }
}
