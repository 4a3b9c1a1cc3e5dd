//! Full-text search over what was said: the sessions whose messages or answers contain every
//! word of a query, newest first, each with a snippet of where it matched.
//!
//! The indexes are migration 0007's (`messages_fts` over the messages clients sent,
//! `answers_fts` over answers and reasoning), filled by the writer after each commit when it
//! is idle (`fts`; a search asks it for the rest first) and trimmed by triggers. What
//! people type is taken as words, never as FTS5 syntax: each whitespace-separated word is
//! quoted as a phrase (`"` doubled inside), so `"`, `*`, `:`, `(`, `-`, `NEAR`, `AND` and
//! the like are matched literally or as the words they are and can never make a query
//! fail; a word without a letter or digit (`*`, `--`) is dropped, since the tokenizer would
//! drop it too; all words must occur (FTS5's implicit AND), anywhere in one message or one
//! answer.
//!
//! The read finds the matching messages and answers, keeps each session's newest match,
//! applies the usual filters (model, time, key) to the sessions, pages them, and only then
//! asks FTS5 for the snippets of the page's matches, so a common word costs one snippet per
//! listed session, not one per match. A snippet comes back as segments of plain text, the
//! matched words flagged, never as markup: renderers (the console uses `textContent`, the
//! CLI bold) decide how a match looks. Like every read, it names its indexes (`queries`).

use rusqlite::{Connection, OptionalExtension, Row, params, params_from_iter};
use serde::Serialize;

use super::filter::Columns;
use super::queries::{index, session_summary, with_totals};
use super::{ListQuery, Result, SessionSummary};

/// Most words of a query that are searched for; the rest are ignored.
pub(crate) const MAX_WORDS: usize = 32;
/// Tokens of context a snippet shows around its matches (FTS5 allows up to 64).
pub(crate) const SNIPPET_TOKENS: i64 = 20;
/// What FTS5 puts around a matched word in a snippet, split off again by [`segments`].
/// Private-use characters: no tokenizer output, model answer or typed text carries them.
pub(crate) const OPEN: char = '\u{e000}';
pub(crate) const CLOSE: char = '\u{e001}';

/// A session that matched, with where.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SessionMatch {
    #[serde(flatten)]
    pub session: SessionSummary,
    /// The newest matching message or answer, around its matches, as plain text segments.
    pub snippet: Vec<Segment>,
}

/// A piece of a snippet: text, and whether it is a matched word.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Segment {
    pub text: String,
    #[serde(rename = "match")]
    pub matched: bool,
}

/// The FTS5 query for what a person typed: each word a quoted phrase, all of them required;
/// `None` when no word is left (nothing can match).
pub(crate) fn match_expression(input: &str) -> Option<String> {
    let words: Vec<String> = input
        .split_whitespace()
        .filter(|word| word.chars().any(char::is_alphanumeric))
        .take(MAX_WORDS)
        .map(|word| format!("\"{}\"", word.replace('"', "\"\"")))
        .collect();
    (!words.is_empty()).then(|| words.join(" "))
}

/// Where a session matched: in a message (`messages_fts`) or an answer (`answers_fts`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Message,
    Answer,
}

const SESSION_COLUMNS: Columns = Columns {
    key: "s.api_key_id",
    session: "s.id",
    model: "s.model",
    time: "s.updated_at",
};

/// The sessions matching `text` and `q`, newest first, a page of `q.limit` from `q.offset`.
pub(crate) fn search_sessions(
    conn: &Connection,
    text: &str,
    q: &ListQuery,
) -> Result<Vec<SessionMatch>> {
    let Some(expression) = match_expression(text) else {
        return Ok(Vec::new());
    };
    let filter = q.filter(&SESSION_COLUMNS);
    // Each session's newest hit: SQLite takes the bare columns of a `max()` aggregate from
    // the row holding the maximum.
    let page = format!(
        "WITH hit AS (
             SELECT r.session_id AS session_id, 0 AS kind, f.rowid AS doc, r.received_at AS at
             FROM messages_fts f
                  CROSS JOIN request_messages rm INDEXED BY {by_message}
                      ON rm.message_id = f.rowid
                  CROSS JOIN requests r INDEXED BY {requests_pk} ON r.id = rm.request_id
             WHERE messages_fts MATCH ? AND r.session_id IS NOT NULL
             UNION ALL
             SELECT p.session_id, 1, a.rowid, p.created_at
             FROM answers_fts a CROSS JOIN responses p NOT INDEXED ON p.rowid = a.rowid
             WHERE answers_fts MATCH ? AND p.session_id IS NOT NULL),
         best AS (
             SELECT session_id, kind, doc, max(at) AS at FROM hit GROUP BY session_id)
         SELECT s.*, s.rowid AS seq, best.kind AS hit_kind, best.doc AS hit_doc
         FROM best CROSS JOIN sessions s INDEXED BY {sessions_pk} ON s.id = best.session_id
         {clause}
         ORDER BY s.updated_at DESC, s.rowid DESC LIMIT ? OFFSET ?",
        by_message = index::REQUEST_MESSAGES_MESSAGE,
        requests_pk = index::REQUESTS_PK,
        sessions_pk = index::SESSIONS_PK,
        clause = filter.clause,
    );
    let sql = with_totals(&page);
    let matching = [
        rusqlite::types::Value::Text(expression.clone()),
        rusqlite::types::Value::Text(expression.clone()),
    ];
    let paging = q.page_args();
    let args = matching.iter().chain(&filter.args).chain(paging.iter());
    let mut stmt = conn.prepare(&sql)?;
    let found = stmt
        .query_map(params_from_iter(args), |row| {
            Ok((session_summary(row)?, hit(row)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut out = Vec::with_capacity(found.len());
    for (session, (source, doc)) in found {
        let snippet = snippet(conn, &expression, source, doc)?;
        out.push(SessionMatch { session, snippet });
    }
    Ok(out)
}

fn hit(row: &Row<'_>) -> rusqlite::Result<(Source, i64)> {
    let source = match row.get::<_, i64>("hit_kind")? {
        0 => Source::Message,
        _ => Source::Answer,
    };
    Ok((source, row.get("hit_doc")?))
}

/// The snippet of one matching message or answer, found by its rowid.
fn snippet(conn: &Connection, expression: &str, source: Source, doc: i64) -> Result<Vec<Segment>> {
    // Column -1: the column that matched best (an answer's text or its reasoning).
    let (table, column) = match source {
        Source::Message => ("messages_fts", 0),
        Source::Answer => ("answers_fts", -1),
    };
    let sql = format!(
        "SELECT snippet({table}, {column}, ?, ?, '…', {SNIPPET_TOKENS})
         FROM {table} WHERE {table} MATCH ? AND rowid = ?"
    );
    let text: Option<String> = conn
        .prepare_cached(&sql)?
        .query_row(
            params![OPEN.to_string(), CLOSE.to_string(), expression, doc],
            |row| row.get(0),
        )
        .optional()?;
    Ok(segments(&text.unwrap_or_default()))
}

/// A snippet marked with [`OPEN`]/[`CLOSE`] as segments, whitespace (line breaks included)
/// folded into single spaces so it reads as one line.
pub(crate) fn segments(marked: &str) -> Vec<Segment> {
    let mut out: Vec<Segment> = Vec::new();
    let mut current = String::new();
    let mut matched = false;
    let mut push = |text: &mut String, matched: bool| {
        if text.is_empty() {
            return;
        }
        match out.last_mut() {
            Some(last) if last.matched == matched => last.text.push_str(text),
            _ => out.push(Segment {
                text: std::mem::take(text),
                matched,
            }),
        }
        text.clear();
    };
    let mut last_space = false;
    for c in marked.chars() {
        match c {
            OPEN | CLOSE => {
                push(&mut current, matched);
                matched = c == OPEN;
            }
            c if c.is_whitespace() => {
                if !last_space {
                    current.push(' ');
                }
                last_space = true;
                continue;
            }
            c => current.push(c),
        }
        last_space = false;
    }
    push(&mut current, matched);
    if let Some(first) = out.first_mut() {
        first.text = first.text.trim_start().to_owned();
    }
    if let Some(last) = out.last_mut() {
        last.text = last.text.trim_end().to_owned();
    }
    out.retain(|s| !s.text.is_empty());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_words_become_quoted_phrases() {
        let m = |s: &str| match_expression(s);
        assert_eq!(m("hello world").as_deref(), Some(r#""hello" "world""#));
        assert_eq!(m(r#"say "hi""#).as_deref(), Some(r#""say" """hi""""#));
        assert_eq!(
            m("NEAR(a b) OR c* -d col:e").as_deref(),
            Some(r#""NEAR(a" "b)" "OR" "c*" "-d" "col:e""#)
        );
        assert_eq!(m("* -- ( ) :"), None);
        assert_eq!(m("   "), None);
        assert_eq!(m("café 北京").as_deref(), Some(r#""café" "北京""#));
        let many = "w ".repeat(100);
        assert_eq!(m(&many).unwrap().matches('"').count(), 2 * MAX_WORDS);
    }

    #[test]
    fn a_marked_snippet_becomes_one_line_of_segments() {
        let s = |text: &str, matched: bool| Segment {
            text: text.to_owned(),
            matched,
        };
        assert_eq!(
            segments("…the \u{e000}quick\u{e001} brown\n\n \u{e000}fox\u{e001}…"),
            vec![
                s("…the ", false),
                s("quick", true),
                s(" brown ", false),
                s("fox", true),
                s("…", false),
            ]
        );
        assert_eq!(
            segments("\u{e000}start\u{e001}\u{e000}again\u{e001} end "),
            vec![s("startagain", true), s(" end", false)]
        );
        assert_eq!(segments(""), Vec::<Segment>::new());
        assert_eq!(
            segments("<b>not markup</b>"),
            vec![s("<b>not markup</b>", false)]
        );
    }
}
