//! Aggregates: the statistics of the data endpoints and the usage report of `qwenctl stats`
//! and of `/v1/responses/stats?group_by=` (per model, UTC day or UTC hour).
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

pub(crate) fn usage_stats(
    conn: &Connection,
    since_ms: Option<i64>,
    by: Option<GroupBy>,
) -> Result<UsageReport> {
    let q = ListQuery {
        since_ms,
        ..ListQuery::default()
    };
    usage_report(conn, &q, by)
}

/// The usage figures of the requests matching `q` (its filters; paging is ignored), in one
/// `all` group or per model, day or hour.
pub(crate) fn usage_report(
    conn: &Connection,
    q: &ListQuery,
    by: Option<GroupBy>,
) -> Result<UsageReport> {
    // The filter renders only the fields given (`?1 IS NULL OR …` would hide the range
    // from the planner), so a report over everything has no WHERE at all.
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
    let mut stmt = conn.prepare(&format!(
        "SELECT r.model, strftime('%Y-%m-%d', r.received_at / 1000, 'unixepoch'),
                strftime('%Y-%m-%dT%H:00:00Z', r.received_at / 1000, 'unixepoch'),
                p.status, p.error_kind, p.prompt_tokens, p.completion_tokens,
                p.reasoning_tokens, p.total_tokens, p.duration_ms, p.first_token_ms
         FROM requests r INDEXED BY {requests}
              LEFT JOIN responses p INDEXED BY {} ON p.request_id = r.id {}",
        index::RESPONSES_REQUEST,
        filter.clause
    ))?;
    let mut rows = stmt.query(params_from_iter(filter.args.iter()))?;
    let mut read = Vec::new();
    while let Some(row) = rows.next()? {
        let status: Option<String> = row.get(3)?;
        let answered = status.is_some();
        let figure =
            |i: usize| -> rusqlite::Result<i64> { Ok(if answered { row.get(i)? } else { 0 }) };
        read.push(UsageRow {
            model: row.get(0)?,
            day: row.get(1)?,
            hour: row.get(2)?,
            error_kind: row.get(4)?,
            prompt_tokens: figure(5)?,
            completion_tokens: figure(6)?,
            reasoning_tokens: figure(7)?,
            total_tokens: figure(8)?,
            duration_ms: figure(9)?,
            first_token_ms: if answered { row.get(10)? } else { None },
            status,
        });
    }
    Ok(aggregate(read, q.since_ms, by))
}

/// What the usage report reads of one request and its response (both backends read the
/// same figures and leave the grouping and percentiles to [`aggregate`]).
pub(crate) struct UsageRow {
    pub model: String,
    /// UTC calendar day of the request, `YYYY-MM-DD`.
    pub day: Option<String>,
    /// UTC hour of the request, `YYYY-MM-DDTHH:00:00Z`.
    pub hour: Option<String>,
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

/// The usage report of `rows`: one `all` group, or one per model (busiest first), day or
/// hour.
pub(crate) fn aggregate(
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
            Some(GroupBy::Hour) => row.hour.unwrap_or_default(),
        };
        let acc = groups.entry(key).or_default();
        acc.group.requests += 1;
        let Some(status) = row.status else {
            continue; // No response yet: counted as a request only.
        };
        if status == "ok" {
            acc.group.ok += 1;
        } else {
            if status == "error" {
                acc.group.errors += 1;
            }
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
        // Busiest model first; days and hours stay in calendar order.
        out.sort_by(|a, b| b.requests.cmp(&a.requests).then_with(|| a.key.cmp(&b.key)));
    }
    UsageReport {
        since_ms,
        group_by: by.map_or("all", GroupBy::as_str),
        groups: out,
    }
}
