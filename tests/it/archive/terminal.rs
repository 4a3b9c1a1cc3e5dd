//! Stored text reaches the terminal inert (issue 18, finding 5): a client of `serve` sends
//! escape sequences (window title, clear screen, OSC 52 clipboard write, bell) and an RTL
//! override; `sessions list` and `sessions show` show them as visible characters, never
//! raw, to a pipe as to a terminal; JSON and file exports keep the exact text, and Markdown
//! exported to a terminal is shown inert too.

use std::time::Duration;

use serde_json::Value;

use super::*;
use crate::common::*;

/// A prompt that would retitle the window, clear the screen, write the clipboard, ring the
/// bell and turn `exe.txt` around, were it printed raw.
const EVIL: &str = "hi \x1b]0;owned\x07 \x1b[2J \x1b]52;c;ZXZpbA==\x07 invoice\u{202e}txt.exe\x07";

/// The characters a terminal would act on: controls other than a line end or a tab, and
/// bidi controls.
fn raw(text: &str) -> Vec<char> {
    text.chars()
        .filter(|&c| {
            (c.is_control() && !matches!(c, '\n' | '\t' | '\r'))
                || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        })
        .collect()
}

#[tokio::test]
async fn escape_sequences_are_shown_inert_by_sessions_show_and_list() {
    let s = TestServer::start().await;
    let said = converse(&s, "qwen3-max", &[EVIL]).await;
    assert!(
        said[1].1.contains(EVIL),
        "the fake echoes the prompt: {said:?}"
    );
    s.store.flush().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = &s.db_path;

    let out = cli(dir.path(), db, &["sessions", "list"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let table = stdout(&out);
    assert_eq!(raw(&table), Vec::<char>::new(), "{table}");
    assert!(table.contains("hi ␛]0;owned␇ ␛[2J"), "{table}");

    let list = json_out(&cli(dir.path(), db, &["sessions", "list", "--json"]).await);
    let id = session_with_title(&list, "hi ");
    assert_eq!(list[0]["title"], EVIL, "JSON keeps the exact title");

    let out = cli(dir.path(), db, &["sessions", "show", &id]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let shown = stdout(&out);
    assert_eq!(raw(&shown), Vec::<char>::new(), "{shown}");
    let visible = "hi ␛]0;owned␇ ␛[2J ␛]52;c;ZXZpbA==␇ invoice<U+202E>txt.exe␇";
    assert!(shown.contains(&format!("user:\n{visible}\n")), "{shown}");
    assert!(shown.contains(&format!("You said: {visible}")), "{shown}");

    // JSON: the exact text, with what a terminal would act on escaped.
    let out = cli(dir.path(), db, &["sessions", "show", &id, "--json"]).await;
    let text = stdout(&out);
    assert_eq!(raw(&text), Vec::<char>::new(), "{text}");
    assert!(text.contains(r"invoice\u202etxt.exe"), "{text}");
    let transcript: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(transcript["turns"][0]["messages"][0]["content"], EVIL);

    // Exports to a file or a pipe are exact.
    let file = dir.path().join("out.md");
    let out = cli(
        dir.path(),
        db,
        &["sessions", "export", &id, "--format", "markdown", "-o"],
    )
    .await;
    assert_ne!(out.status.code(), Some(0), "-o needs a file");
    let out = cli(
        dir.path(),
        db,
        &[
            "sessions",
            "export",
            &id,
            "--format",
            "markdown",
            "-o",
            file.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(std::fs::read_to_string(&file).unwrap().contains(EVIL));
    let out = cli(
        dir.path(),
        db,
        &["sessions", "export", &id, "--format", "markdown"],
    )
    .await;
    assert!(stdout(&out).contains(EVIL), "a pipe gets the exact text");

    // Markdown to a terminal: inert.
    let mut cmd = qwenctl_on(dir.path(), db);
    cmd.args(["sessions", "export", &id, "--format", "markdown"])
        .env("TERM", "xterm");
    let screen = tokio::task::spawn_blocking(move || {
        let options = rexpect::session::Options::new()
            .timeout_ms(Some(20_000))
            .strip_ansi_escape_codes(false);
        let mut p = rexpect::session::spawn_with_options(cmd, options).expect("spawn");
        // rexpect reads the terminal one byte per char.
        let bytes = p.exp_eof().expect("the export ends");
        let bytes: Vec<u8> = bytes.chars().map(|c| c as u32 as u8).collect();
        String::from_utf8(bytes).expect("UTF-8 on the terminal")
    });
    let screen = tokio::time::timeout(Duration::from_secs(60), screen)
        .await
        .expect("in time")
        .unwrap();
    assert_eq!(raw(&screen), Vec::<char>::new(), "{screen}");
    assert!(screen.contains(visible), "{screen}");
}

#[tokio::test]
async fn the_repl_shows_a_resumed_session_inert() {
    let s = TestServer::start().await;
    converse(&s, "qwen3-max", &[EVIL]).await;
    s.store.flush().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = qwenctl_on(dir.path(), &s.db_path);
    cmd.args(["chat", "--continue"])
        .envs(base_env(&s.fake.url()))
        .env("DATABASE_PATH", &s.db_path)
        .env("TERM", "xterm");
    let table = tokio::task::spawn_blocking(move || {
        let options = rexpect::session::Options::new()
            .timeout_ms(Some(20_000))
            .strip_ansi_escape_codes(false);
        let mut p = rexpect::session::spawn_with_options(cmd, options).expect("spawn");
        p.exp_string("resumed session").expect("the resume note");
        p.exp_string("qwen3-max> ").expect("the prompt");
        p.send_line("/sessions").expect("type");
        p.exp_string("TITLE").expect("the table");
        let table = p.exp_string("qwen3-max> ").expect("the prompt again");
        p.send_control('d').expect("Ctrl-D");
        p.exp_eof().expect("the REPL ends");
        let bytes: Vec<u8> = table.chars().map(|c| c as u32 as u8).collect();
        String::from_utf8(bytes).expect("UTF-8 on the terminal")
    });
    let table = tokio::time::timeout(Duration::from_secs(60), table)
        .await
        .expect("in time")
        .unwrap();
    let rows: String = table.lines().filter(|l| l.contains('│')).collect();
    assert!(rows.contains("hi ␛]0;owned␇ ␛[2J"), "{table}");
    assert_eq!(raw(&rows), Vec::<char>::new(), "{table}");
}
