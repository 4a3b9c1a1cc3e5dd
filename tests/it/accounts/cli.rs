//! `qwenctl accounts …` and `validate-config` with accounts: the file is created private,
//! passwords are read from a pipe and never shown, and a malformed file, a wrong password or
//! an unreachable upstream at login each give one line on stderr and exit 2.

use std::collections::HashMap;
use std::process::Output;
use std::time::Duration;

use qwen_fake::FakeUpstream;
use serde_json::Value;

use super::*;

/// The harness's variables without its pasted cookies, so the accounts file is the source.
fn env(upstream: &str) -> HashMap<String, String> {
    let mut env = base_env(upstream);
    env.remove("QWEN_COOKIES");
    env
}

async fn qwenctl_run(
    dir: &std::path::Path,
    env: &HashMap<String, String>,
    args: &[&str],
    stdin: Option<&str>,
) -> Output {
    let mut cmd = qwenctl(dir);
    cmd.args(args).envs(env);
    run(cmd, stdin).await
}

/// One line on stderr, exit 2.
fn one_line_exit_2(out: &Output) -> String {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(2), "{err}{}", stdout(out));
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    err
}

#[tokio::test]
async fn add_list_login_test_and_remove() {
    let fake = FakeUpstream::start(fake_options(Duration::from_secs(900)))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let env = env(&fake.url());
    let run = |args: &'static [&'static str], stdin: Option<&'static str>| {
        qwenctl_run(dir.path(), &env, args, stdin)
    };

    // The password comes from the pipe; the name defaults to the email's local part.
    let piped = format!("{}\n", ALICE.1).leak();
    let out = run(&["accounts", "add", ALICE.0], Some(piped)).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("account alice (a***@example.com)"),
        "{}",
        stdout(&out)
    );
    let piped = format!("{}\n", BOB.1).leak();
    let out = run(&["accounts", "add", BOB.0, "--name", "work"], Some(piped)).await;
    assert!(out.status.success(), "{}", stderr(&out));

    let file = dir.path().join(".config/qwenctl/accounts.toml");
    let text = std::fs::read_to_string(&file).expect("the default accounts file");
    assert!(text.contains("name = \"work\""), "{text}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    let out = run(&["accounts", "list", "--json"], None).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list[0]["name"], "alice");
    assert_eq!(list[0]["email"], "a***@example.com");
    assert_eq!(list[0]["state"], "logged_out");
    assert_eq!(list[1]["name"], "work");

    let out = run(&["accounts", "login"], None).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("Logged in account alice"),
        "{}",
        stdout(&out)
    );
    assert!(
        stdout(&out).contains("Logged in account work"),
        "{}",
        stdout(&out)
    );
    assert_eq!((fake.signins(ALICE.0), fake.signins(BOB.0)), (1, 1));

    let out = run(&["accounts", "list", "--json"], None).await;
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list[0]["state"], "ok", "{list}");
    assert!(list[0]["token_expires_at"].is_string(), "{list}");
    let table = stdout(&run(&["accounts", "list"], None).await);
    assert!(
        table.contains("NAME") && !table.contains("w***@example.com"),
        "{table}"
    );
    assert!(table.contains("b***@example.com"), "{table}");

    // `test` proves the accounts with their cached tokens: no new sign-in.
    let out = run(&["accounts", "test", "work"], None).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("Account work is accepted"),
        "{}",
        stdout(&out)
    );
    assert_eq!(fake.signins(BOB.0), 1);

    let out = run(&["accounts", "remove", "work"], None).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let tokens = std::fs::read_to_string(dir.path().join(".config/qwenctl/tokens.json")).unwrap();
    assert!(!tokens.contains("\"work\""), "{tokens}");
    let out = run(&["accounts", "remove", "work"], None).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));

    // Nothing printed anywhere holds a password.
    for out in [
        run(&["accounts", "list", "--json"], None).await,
        run(&["validate-config", "--online"], None).await,
    ] {
        let all = format!("{}{}", stdout(&out), stderr(&out));
        assert!(!all.contains(ALICE.1) && !all.contains(BOB.1), "{all}");
    }
}

#[tokio::test]
async fn validate_config_names_the_source_and_proves_each_account() {
    let fake = FakeUpstream::start(fake_options(Duration::from_secs(900)))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let wrong = "wrong-password-for-bob";
    let path = write_accounts(
        dir.path(),
        &[("alice", ALICE.0, ALICE.1), ("bob", BOB.0, wrong)],
    );
    let mut env = env(&fake.url());
    env.insert("QWEN_ACCOUNTS_FILE".into(), path.display().to_string());

    let out = qwenctl_run(dir.path(), &env, &["validate-config"], None).await;
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));
    assert!(text.contains("Credentials: the accounts file"), "{text}");
    assert!(text.contains("account alice (a***@example.com)"), "{text}");
    assert_eq!(
        fake.signins(ALICE.0),
        0,
        "offline validation logs nobody in"
    );

    let out = qwenctl_run(
        dir.path(),
        &env,
        &["validate-config", "--online", "--json"],
        None,
    )
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let accounts = report["online"]["accounts"].as_array().unwrap();
    assert_eq!(accounts[0]["ok"], true, "{report}");
    assert_eq!(accounts[1]["ok"], false, "{report}");
    let problem = report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["severity"] == "error")
        .unwrap();
    assert_eq!(problem["var"], "QWEN_ACCOUNTS_FILE");
    assert!(
        problem["message"]
            .as_str()
            .unwrap()
            .contains("account `bob`"),
        "{problem}"
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains(wrong));
}

#[tokio::test]
async fn bad_input_at_login_is_one_line_and_exit_2() {
    let fake = FakeUpstream::start(fake_options(Duration::from_secs(900)))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut env = env(&fake.url());
    let path = dir.path().join("accounts.toml");
    env.insert("QWEN_ACCOUNTS_FILE".into(), path.display().to_string());

    // A wrong password: the line names the account, never the password.
    let wrong = "definitely-wrong-pw";
    write_accounts(dir.path(), &[("alice", ALICE.0, wrong)]);
    for args in [&["accounts", "login"][..], &["chat", "hi"][..]] {
        let out = qwenctl_run(dir.path(), &env, args, None).await;
        let err = one_line_exit_2(&out);
        assert!(
            err.contains("alice") && err.contains("password"),
            "{args:?}: {err}"
        );
        assert!(!err.contains(wrong), "{args:?}: {err}");
    }

    // An unreachable upstream at login.
    write_accounts(dir.path(), ONLY_ALICE);
    let mut offline = env.clone();
    offline.insert("QWEN_BASE_URL".into(), "http://127.0.0.1:9".into());
    let out = qwenctl_run(dir.path(), &offline, &["accounts", "login", "alice"], None).await;
    let err = one_line_exit_2(&out);
    assert!(err.contains("alice"), "{err}");

    // A malformed file stops every command that needs the accounts, quoting no value.
    std::fs::write(
        &path,
        "[[account]]\nname = \"alice\"\nemail = \"alice@example.com\"\npassword = 12345678\n",
    )
    .unwrap();
    for args in [
        &["accounts", "list"][..],
        &["chat", "hi"][..],
        &["models"][..],
        &["serve", "--port", "0"][..],
    ] {
        let out = qwenctl_run(dir.path(), &env, args, None).await;
        let err = one_line_exit_2(&out);
        assert!(
            err.contains("accounts.toml") && err.contains("line 4"),
            "{args:?}: {err}"
        );
        assert!(!err.contains("12345678"), "{args:?}: {err}");
    }

    // A file others can read is refused before it is read.
    write_accounts(dir.path(), ONLY_ALICE);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let out = qwenctl_run(dir.path(), &env, &["accounts", "list"], None).await;
        let err = one_line_exit_2(&out);
        assert!(err.contains("chmod 600"), "{err}");
    }

    // No credentials at all: one line saying the three ways.
    let mut none = env.clone();
    none.insert(
        "QWEN_ACCOUNTS_FILE".into(),
        dir.path().join("missing.toml").display().to_string(),
    );
    let out = qwenctl_run(dir.path(), &none, &["chat", "hi"], None).await;
    let err = one_line_exit_2(&out);
    assert!(
        err.contains("qwenctl accounts add") && err.contains("QWEN_EMAIL"),
        "{err}"
    );
    let out = qwenctl_run(dir.path(), &none, &["accounts", "list"], None).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("No accounts yet"), "{}", stdout(&out));
}

#[tokio::test]
async fn a_password_typed_at_a_terminal_is_not_echoed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("accounts.toml");
    let env = env("http://127.0.0.1:9");
    let mut cmd = qwenctl(dir.path());
    cmd.args(["accounts", "add", "carol@example.com", "--name", "carol"])
        .envs(&env)
        .env("QWEN_ACCOUNTS_FILE", &path)
        .env("TERM", "xterm");
    let typed = "typed-Secret-123";
    let screen = tokio::task::spawn_blocking(move || {
        let options = rexpect::session::Options::new()
            .timeout_ms(Some(20_000))
            .strip_ansi_escape_codes(true);
        let mut p = rexpect::session::spawn_with_options(cmd, options).expect("spawn");
        let mut screen = p
            .exp_string("Password for carol@example.com: ")
            .expect("prompt");
        p.send_line(typed).expect("type");
        screen.push_str(&p.exp_string("Again: ").expect("second prompt"));
        p.send_line(typed).expect("type");
        screen.push_str(&p.exp_eof().expect("the command ends"));
        screen
    });
    let screen = tokio::time::timeout(Duration::from_secs(60), screen)
        .await
        .expect("in time")
        .unwrap();
    assert!(!screen.contains(typed), "the password was echoed: {screen}");
    assert!(screen.contains("Added account carol"), "{screen}");
    let accounts = qwenctl::accounts::file::read(&path).expect("a private accounts file");
    assert_eq!(accounts[0].password.expose(), typed);
}
