//! `qwenctl chat`, the real binary against the fake upstream: one-shot output that scripts can
//! rely on, failures as one line of advice, and the REPL driven through a pseudo-terminal
//! (rexpect) — context across turns, Ctrl-C, `/resume` of a session made by `serve`.
//!
//! Every wait is bounded: process runs by the harness's limit, each terminal expectation by
//! [`PTY_TIMEOUT_MS`], so a broken chat fails the test instead of hanging it.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use qwen_fake::{FakeOptions, FakeUpstream};
use qwenctl::store::{ListQuery, Store};
use rexpect::process::WaitStatus;
use rexpect::session::{Options, PtySession};
use serde_json::Value;

use crate::common::*;

/// The longest the terminal tests wait for any expected output.
const PTY_TIMEOUT_MS: u64 = 20_000;
/// The REPL's prompt with the default model.
const PROMPT: &str = "qwen3-max> ";

/// The variables for a chat against `fake` with its database at `db`.
fn chat_env(fake_url: &str, db: &Path) -> HashMap<String, String> {
    let mut env = base_env(fake_url);
    env.insert("DATABASE_PATH".into(), db.display().to_string());
    env
}

#[tokio::test]
async fn piped_stdin_prints_exactly_the_answer() {
    let fake = FakeUpstream::start(FakeOptions::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = qwenctl(dir.path());
    cmd.arg("chat")
        .envs(chat_env(&fake.url(), &dir.path().join("q.db")));
    let out = run(cmd, Some("hello pipe\n")).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "You said: hello pipe\n");
}

#[tokio::test]
async fn one_shot_prompt_prints_exactly_the_answer_and_is_stored() {
    let fake = FakeUpstream::start(FakeOptions::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("q.db");
    let mut cmd = qwenctl(dir.path());
    cmd.args(["chat", "one shot"])
        .envs(chat_env(&fake.url(), &db));
    let out = run(cmd, None).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "You said: one shot\n");
    assert_eq!(stderr(&out), "", "a pipe gets no spinner or notes");

    let store = Store::open(&db).unwrap();
    let sessions = store.list_sessions(&ListQuery::default()).await.unwrap();
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0].source, "chat");
    assert_eq!(sessions[0].title, "one shot");
}

#[tokio::test]
async fn prompt_stdin_and_files_are_combined() {
    let fake = FakeUpstream::start(FakeOptions::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.md"), "# Notes\nbuy milk\n").unwrap();
    let mut cmd = qwenctl(dir.path());
    cmd.args(["chat", "-f", "notes.md", "summarise this"])
        .envs(chat_env(&fake.url(), &dir.path().join("q.db")));
    let out = run(cmd, Some("from stdin\n")).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let sent = sent_content(fake.completions().last().expect("a completion"));
    assert_eq!(
        sent,
        "summarise this\n\nfrom stdin\n\n```notes.md\n# Notes\nbuy milk\n```"
    );

    let mut cmd = qwenctl(dir.path());
    cmd.args(["chat", "-f", "missing.md", "x"])
        .envs(chat_env(&fake.url(), &dir.path().join("q.db")));
    let out = run(cmd, None).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("missing.md"), "{}", stderr(&out));
}

#[tokio::test]
async fn json_prints_a_chat_completion() {
    let fake = FakeUpstream::start(FakeOptions::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = qwenctl(dir.path());
    cmd.args(["chat", "--json", "as json"])
        .envs(chat_env(&fake.url(), &dir.path().join("q.db")));
    let out = run(cmd, None).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let object: Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(object["object"], "chat.completion");
    assert_eq!(object["model"], "qwen3-max");
    assert!(object["id"].as_str().unwrap().starts_with("chatcmpl-"));
    let choice = &object["choices"][0];
    assert_eq!(choice["message"]["role"], "assistant");
    assert_eq!(choice["message"]["content"], "You said: as json");
    assert_eq!(choice["finish_reason"], "stop");
    assert!(object["usage"]["total_tokens"].as_u64().unwrap() > 0);
}

#[tokio::test]
async fn reasoning_goes_to_stderr_never_to_stdout() {
    let fake = FakeUpstream::start(FakeOptions::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let env = chat_env(&fake.url(), &dir.path().join("q.db"));
    // The fake's qwen3.7-plus can think; its -thinking variant turns thinking on.
    let mut cmd = qwenctl(dir.path());
    cmd.args(["chat", "-m", "qwen3.7-plus-thinking", "ponder"])
        .envs(&env);
    let out = run(cmd, None).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "You said: ponder\n");
    assert!(
        stderr(&out).contains("The answer is ready."),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains('\x1b'), "no colour off a terminal");
    let sent = fake.completions().last().unwrap().body.clone();
    assert_eq!(sent["model"], "qwen3.7-plus");

    // -q keeps stderr for errors only; --json carries the reasoning in the object.
    let mut cmd = qwenctl(dir.path());
    cmd.args([
        "-q",
        "chat",
        "--think",
        "--json",
        "-m",
        "qwen3.7-plus",
        "ponder",
    ])
    .envs(&env);
    let out = run(cmd, None).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stderr(&out), "");
    let object: Value = serde_json::from_slice(&out.stdout).unwrap();
    let reasoning = object["choices"][0]["message"]["reasoning_content"]
        .as_str()
        .unwrap();
    assert!(reasoning.contains("The answer is ready."), "{object}");
}

#[tokio::test]
async fn rejected_credentials_exit_1_naming_the_cookies() {
    let fake = rejecting_fake().await;
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = qwenctl(dir.path());
    cmd.args(["chat", "hello"])
        .envs(chat_env(&fake.url(), &dir.path().join("q.db")));
    let out = run(cmd, None).await;
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(stdout(&out), "");
    assert!(err.contains("QWEN_COOKIES"), "{err}");
    assert!(err.contains("validate-config --online"), "{err}");
    assert_eq!(err.matches("qwenctl: error:").count(), 1, "{err}");
    assert!(!err.contains(JWT), "the token leaked:\n{err}");
}

#[tokio::test]
async fn continue_and_resume_carry_the_context() {
    let fake = FakeUpstream::start(FakeOptions::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let env = chat_env(&fake.url(), &dir.path().join("q.db"));

    let mut cmd = qwenctl(dir.path());
    cmd.args(["chat", "my name is Alice"]).envs(&env);
    assert_eq!(run(cmd, None).await.status.code(), Some(0));

    let mut cmd = qwenctl(dir.path());
    cmd.args(["chat", "--continue", "what is my name?"])
        .envs(&env);
    let out = run(cmd, None).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "Your name is Alice.\n");
    // The upstream chat itself was continued: one new message with a parent.
    let completions = fake.completions();
    let last = completions.last().unwrap();
    assert_eq!(sent_content(last), "what is my name?");
    assert!(parent_id(last).is_some());
    assert_eq!(chat_id(last), chat_id(&completions[0]));

    let mut cmd = qwenctl(dir.path());
    cmd.args(["chat", "--resume", "no-such-session", "hi"])
        .envs(&env);
    let out = run(cmd, None).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("no-such-session"), "{}", stderr(&out));
}

/// Starts the REPL in a pseudo-terminal.
fn spawn_repl(dir: &Path, env: &HashMap<String, String>, args: &[&str]) -> PtySession {
    let mut cmd = qwenctl(dir);
    cmd.arg("chat").args(args).envs(env).env("TERM", "xterm");
    let options = Options::new()
        .timeout_ms(Some(PTY_TIMEOUT_MS))
        .strip_ansi_escape_codes(true);
    rexpect::session::spawn_with_options(cmd, options).expect("spawn the REPL")
}

/// Types `line` once the prompt is showing (rustyline drops what is typed before it reads)
/// and waits for `answer`.
fn ask(p: &mut PtySession, line: &str, answer: &str) {
    p.exp_string(PROMPT).expect("the prompt");
    p.send_line(line).expect("type");
    p.exp_string(answer)
        .unwrap_or_else(|e| panic!("no `{answer}` after `{line}`: {e}"));
}

/// Ctrl-D at the prompt, then the exit status.
fn leave(mut p: PtySession) -> WaitStatus {
    p.exp_string(PROMPT).expect("the prompt");
    p.send_control('d').expect("Ctrl-D");
    p.exp_eof().expect("the REPL ends");
    p.process().wait().expect("exit status")
}

/// Runs a blocking terminal script without stalling the fake, bounded in time.
async fn drive<T: Send + 'static>(script: impl FnOnce() -> T + Send + 'static) -> T {
    let task = tokio::task::spawn_blocking(script);
    tokio::time::timeout(Duration::from_secs(120), task)
        .await
        .expect("the terminal test did not finish in time")
        .expect("the terminal script panicked")
}

#[tokio::test]
async fn repl_keeps_context_and_ctrl_c_cancels_an_answer() {
    let fake = FakeUpstream::start(FakeOptions::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("q.db");
    let env = chat_env(&fake.url(), &db);
    let home = dir.path().to_path_buf();
    let status = drive(move || {
        let mut p = spawn_repl(&home, &env, &[]);
        ask(&mut p, "my name is Alice", "You said: my name is Alice");
        ask(&mut p, "what is my name?", "Your name is Alice.");
        // Each chunk of this answer takes 300 ms: cancel it after the first words.
        ask(
            &mut p,
            "tell me a long story [[fake:slow=300]] with very many words in it",
            "said:",
        );
        p.send_control('c').expect("Ctrl-C");
        p.exp_string("answer cancelled").expect("cancel note");
        // Ctrl-C at the prompt only clears the line.
        p.exp_string(PROMPT).expect("the prompt");
        p.send("never sent").expect("type");
        p.send_control('c').expect("Ctrl-C");
        ask(&mut p, "what is my name?", "Your name is Alice.");
        ask(&mut p, "/nonsense", "unknown command /nonsense");
        leave(p)
    })
    .await;
    assert!(matches!(status, WaitStatus::Exited(_, 0)), "{status:?}");

    let store = Store::open(&db).unwrap();
    let sessions = store.list_sessions(&ListQuery::default()).await.unwrap();
    assert_eq!(sessions.len(), 1, "{sessions:?}");
    assert_eq!(sessions[0].source, "chat");
    assert_eq!(sessions[0].title, "my name is Alice");
    let responses = store.list_responses(&ListQuery::default()).await.unwrap();
    let statuses: Vec<&str> = responses.iter().map(|r| r.status.as_str()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == "ok").count(),
        3,
        "{statuses:?}"
    );
    assert!(statuses.contains(&"cancelled"), "{statuses:?}");
    // The line cleared with Ctrl-C never reached the upstream.
    assert!(
        fake.completions()
            .iter()
            .all(|c| !sent_content(c).contains("never sent"))
    );
    // ...and `qwenctl sessions list` shows it.
    let mut cmd = qwenctl(dir.path());
    cmd.args(["sessions", "list", "--json"])
        .env("DATABASE_PATH", &db);
    let out = run(cmd, None).await;
    let listed: Value = serde_json::from_slice(&out.stdout).expect("sessions list --json");
    assert_eq!(listed[0]["id"], sessions[0].id.as_str(), "{listed}");
    assert_eq!(listed[0]["source"], "chat");
    // The history file is in the data directory.
    let history =
        std::fs::read_to_string(dir.path().join("data/qwenctl/history.txt")).expect("history file");
    assert!(history.contains("my name is Alice"), "{history}");
}

#[tokio::test]
async fn repl_resumes_a_session_made_through_serve() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shared.db");
    let server = TestServer::start_with(ServerOptions {
        db_path: Some(db.clone()),
        ..ServerOptions::default()
    })
    .await;
    let answer = server
        .answer(&msgs(&[("user", "hello, my name is Bob")]))
        .await;
    assert_eq!(answer, "You said: hello, my name is Bob");
    server.store.flush().await.unwrap();
    let sessions = server
        .store
        .list_sessions(&ListQuery::default())
        .await
        .unwrap();
    let id = sessions[0].id.clone();

    let env = chat_env(&server.fake.url(), &db);
    let home = dir.path().to_path_buf();
    let resume = format!("/resume {id}");
    let status = drive(move || {
        let mut p = spawn_repl(&home, &env, &[]);
        ask(&mut p, &resume, "resumed session");
        ask(&mut p, "what is my name?", "Your name is Bob.");
        leave(p)
    })
    .await;
    assert!(matches!(status, WaitStatus::Exited(_, 0)), "{status:?}");

    // The serve chat itself was continued upstream, not re-sent as a folded history.
    let completions = server.completions();
    let last = completions.last().unwrap();
    assert_eq!(sent_content(last), "what is my name?");
    assert_eq!(chat_id(last), chat_id(&completions[0]));
    let store = Store::open(&db).unwrap();
    let session = store.get_session(&id).await.unwrap().expect("the session");
    assert_eq!(session.turns, 2);
}

/// `chat --fake-upstream` needs no credentials and no server: the built-in fake answers, and
/// the conversation continues like a real one.
#[tokio::test]
async fn fake_upstream_chats_offline_without_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("q.db");
    let mut cmd = qwenctl(dir.path());
    cmd.args(["chat", "--fake-upstream", "Hi, my name is Alice."])
        .env("DATABASE_PATH", &db);
    let out = run(cmd, None).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "You said: Hi, my name is Alice.\n");

    let mut cmd = qwenctl(dir.path());
    cmd.args(["chat", "--fake-upstream", "--continue", "What is my name?"])
        .env("DATABASE_PATH", &db);
    let out = run(cmd, None).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "Your name is Alice.\n");

    // Without the flag and without credentials, the same command is a usage error.
    let mut cmd = qwenctl(dir.path());
    cmd.args(["chat", "hello"]).env("DATABASE_PATH", &db);
    let out = run(cmd, None).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}
