//! Aggregates: the statistics of the data endpoints and the usage report of `qwenctl stats`.
//!
//! Sums and means are left to SQL; percentiles are computed here from the rows because
//! SQLite has no percentile function and the rows of one report fit comfortably in memory.
//!
//! Both read indexes only: requests through `requests_stats` (time, model, id) or, for one
//! session, `requests_session`, and their responses through `responses_request`, which
//! holds every figure summed here. A response row keeps its text before its figures, so
//! reading the rows themselves would page through every answer ever recorded.

use std::collections::BTreeMap;

use rusqlite::{Connection, params_from_iter};

use super::filter::Columns;
use super::queries::index;
use super::views::Distribution;
use super::{
    GroupBy, ListQuery, Result, SessionStats, Statistics, UsageGroup, UsageReport, queries,
};

pub(crate) fn response_stats(conn: &Connection, q: &ListQuery) -> Result<Statistics> {
    let filter = q.filter(&Columns {
        key: "r.api_key_id",
        session: "r.session_id",
        model: "r.model",
        time: "r.received_at",
    });
    let requests = if q.session_id.is_some() {
        index::REQUESTS_SESSION
    } else {
        index::REQUESTS_STATS
    };
    let sql = format!(
        "SELECT count(*), count(p.request_id),
                coalesce(sum(p.status = 'ok'), 0), coalesce(sum(p.status = 'error'), 0),
                coalesce(sum(p.status = 'partial'), 0), coalesce(sum(p.status = 'cancelled'), 0),
                coalesce(sum(p.total_tokens), 0), coalesce(sum(p.prompt_tokens), 0),
                coalesce(sum(p.completion_tokens), 0), coalesce(sum(p.reasoning_tokens), 0),
                coalesce(avg(p.duration_ms), 0.0), coalesce(avg(p.first_token_ms), 0.0)
         FROM requests r INDEXED BY {requests}
              LEFT JOIN responses p INDEXED BY {} ON p.request_id = r.id {}",
        index::RESPONSES_REQUEST,
        filter.clause
    );
    let stats = conn
        .prepare(&sql)?
        .query_row(params_from_iter(filter.args.iter()), |row| {
            Ok(Statistics {
                total_requests: row.get(0)?,
                total_responses: row.get(1)?,
                ok: row.get(2)?,
                errors: row.get(3)?,
                partial: row.get(4)?,
                cancelled: row.get(5)?,
                total_tokens: row.get(6)?,
                prompt_tokens: row.get(7)?,
                completion_tokens: row.get(8)?,
                reasoning_tokens: row.get(9)?,
                avg_duration_ms: row.get(10)?,
                avg_first_token_ms: row.get(11)?,
            })
        })?;
    Ok(stats)
}

pub(crate) fn session_stats(conn: &Connection, id: &str) -> Result<Option<SessionStats>> {
    if queries::get_session(conn, id)?.is_none() {
        return Ok(None);
    }
    let q = ListQuery {
        session_id: Some(id.to_owned()),
        ..ListQuery::default()
    };
    Ok(Some(SessionStats {
        session_id: id.to_owned(),
        statistics: response_stats(conn, &q)?,
    }))
}

/// One group while it is being accumulated.
#[derive(Default)]
struct Acc {
    group: UsageGroup,
    durations: Vec<i64>,
    first_tokens: Vec<i64>,
}

/// What the usage report reads of one request and its response (both backends read the
/// same figures and leave the grouping and percentiles to [`usage_report`]).
pub(crate) struct UsageRow {
    pub model: String,
    /// UTC calendar day of the request, `YYYY-MM-DD`.
    pub day: Option<String>,
    /// `None` while no response is recorded: counted as a request only.
    pub status: Option<String>,
    pub error_kind: Option<String>,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub reasoning_tokens: i64,
    pub total_tokens: i64,
    pub duration_ms: i64,
    pub first_token_ms: Option<i64>,
}

pub(crate) fn usage_stats(
    conn: &Connection,
    since_ms: Option<i64>,
    by: Option<GroupBy>,
) -> Result<UsageReport> {
    // Without `since` there is no WHERE at all: `?1 IS NULL OR …` would hide the range.
    let since = if since_ms.is_some() {
        "WHERE r.received_at >= ?1"
    } else {
        ""
    };
    let mut stmt = conn.prepare(&format!(
        "SELECT r.model, strftime('%Y-%m-%d', r.received_at / 1000, 'unixepoch'),
                p.status, p.error_kind, p.prompt_tokens, p.completion_tokens,
                p.reasoning_tokens, p.total_tokens, p.duration_ms, p.first_token_ms
         FROM requests r INDEXED BY {}
              LEFT JOIN responses p INDEXED BY {} ON p.request_id = r.id {since}",
        index::REQUESTS_STATS,
        index::RESPONSES_REQUEST
    ))?;
    let mut rows = match since_ms {
        Some(since) => stmt.query([since])?,
        None => stmt.query([])?,
    };
    let mut read = Vec::new();
    while let Some(row) = rows.next()? {
        let status: Option<String> = row.get(2)?;
        let answered = status.is_some();
        let figure =
            |i: usize| -> rusqlite::Result<i64> { Ok(if answered { row.get(i)? } else { 0 }) };
        read.push(UsageRow {
            model: row.get(0)?,
            day: row.get(1)?,
            error_kind: row.get(3)?,
            prompt_tokens: figure(4)?,
            completion_tokens: figure(5)?,
            reasoning_tokens: figure(6)?,
            total_tokens: figure(7)?,
            duration_ms: figure(8)?,
            first_token_ms: if answered { row.get(9)? } else { None },
            status,
        });
    }
    Ok(usage_report(read, since_ms, by))
}

/// The usage report of `rows`: one `all` group, or one per model (busiest first) or day.
pub(crate) fn usage_report(
    rows: impl IntoIterator<Item = UsageRow>,
    since_ms: Option<i64>,
    by: Option<GroupBy>,
) -> UsageReport {
    let mut groups: BTreeMap<String, Acc> = BTreeMap::new();
    if by.is_none() {
        // The single group exists even with no requests, so callers always get one row.
        groups.entry("all".to_owned()).or_default();
    }
    for row in rows {
        let key: String = match by {
            None => "all".to_owned(),
            Some(GroupBy::Model) => row.model,
            Some(GroupBy::Day) => row.day.unwrap_or_default(),
        };
        let acc = groups.entry(key).or_default();
        acc.group.requests += 1;
        let Some(status) = row.status else {
            continue; // No response yet: counted as a request only.
        };
        if status == "ok" {
            acc.group.ok += 1;
        } else {
            let kind = row.error_kind.unwrap_or(status);
            *acc.group.errors_by_kind.entry(kind).or_default() += 1;
        }
        acc.group.prompt_tokens += row.prompt_tokens;
        acc.group.completion_tokens += row.completion_tokens;
        acc.group.reasoning_tokens += row.reasoning_tokens;
        acc.group.total_tokens += row.total_tokens;
        acc.durations.push(row.duration_ms);
        if let Some(first) = row.first_token_ms {
            acc.first_tokens.push(first);
        }
    }
    let mut out: Vec<UsageGroup> = groups
        .into_iter()
        .map(|(key, acc)| UsageGroup {
            key,
            duration_ms: Distribution::of(acc.durations),
            first_token_ms: Distribution::of(acc.first_tokens),
            ..acc.group
        })
        .collect();
    if by == Some(GroupBy::Model) {
        // Busiest model first; days stay in calendar order.
        out.sort_by(|a, b| b.requests.cmp(&a.requests).then_with(|| a.key.cmp(&b.key)));
    }
    UsageReport {
        since_ms,
        group_by: by.map_or("all", GroupBy::as_str),
        groups: out,
    }
}
