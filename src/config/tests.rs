//! Precedence and validation of [`super::resolve`], fed maps instead of the real environment.

use base64::Engine as _;

use super::*;

const NOW: i64 = 1_800_000_000;

fn jwt(exp: i64) -> String {
    let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    format!(
        "{}.{}.sig",
        b64(r#"{"alg":"HS256","typ":"JWT"}"#),
        b64(&format!(r#"{{"id":"u","exp":{exp}}}"#))
    )
}

fn sources(env: &[(&str, &str)], dotenv: &[(&str, &str)]) -> Sources {
    Sources {
        env: env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        dotenv: dotenv
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..Sources::default()
    }
}

fn valid_env() -> Vec<(&'static str, String)> {
    vec![
        (
            "QWEN_COOKIES",
            format!("a=b; token={}; c=d", jwt(NOW + 3 * 86_400)),
        ),
        ("QWEN_TOKEN", "T2gAumid".to_owned()),
    ]
}

#[test]
fn defaults_apply_when_nothing_is_set() {
    let c = resolve(&Sources::default(), NOW);
    assert_eq!(c.base_url, "https://chat.qwen.ai");
    assert_eq!(c.port, 3000);
    assert_eq!(c.host, "127.0.0.1");
    assert_eq!(c.session_timeout, Some(Duration::from_millis(1_800_000)));
    assert_eq!(c.retry_max_attempts, 3);
    assert!(c.enable_persistence && c.enable_crud_api);
    assert!(c.api_keys.is_empty());
    // Nothing set: the accounts file is the source, checked when it is read.
    assert_eq!(c.credentials, CredentialSource::AccountsFile);
    assert!(c.credential_errors().is_empty());
    assert!(c.general_errors().is_empty());
    assert!(c.accounts_file.ends_with("qwenctl/accounts.toml"));
    assert_eq!(c.umid_url, "https://sg-wum.alibaba.com/w/wu.json");
}

#[test]
fn flags_beat_env_beat_dotenv_beat_defaults() {
    let mut s = sources(
        &[("PORT", "4000"), ("HOST", "0.0.0.0")],
        &[
            ("PORT", "5000"),
            ("HOST", "::1"),
            ("RETRY_MAX_ATTEMPTS", "7"),
        ],
    );
    s.flags.insert("PORT", "6000".into());
    let c = resolve(&s, NOW);
    assert_eq!(c.port, 6000);
    assert_eq!(c.host, "0.0.0.0");
    assert_eq!(c.retry_max_attempts, 7);
    let origin = |var: &str| c.shown.iter().find(|s| s.var == var).map(|s| s.origin);
    assert_eq!(origin("PORT"), Some(Origin::Flag));
    assert_eq!(origin("HOST"), Some(Origin::Env));
    assert_eq!(origin("RETRY_MAX_ATTEMPTS"), Some(Origin::DotEnv));
    assert_eq!(origin("LOG_LEVEL"), Some(Origin::Default));
}

#[test]
fn empty_values_count_as_unset() {
    let c = resolve(&sources(&[("PORT", "")], &[("PORT", "4100")]), NOW);
    assert_eq!(c.port, 4100);
}

#[test]
fn bad_numbers_are_reported_by_name() {
    let c = resolve(
        &sources(
            &[
                ("PORT", "abc"),
                ("SESSION_TIMEOUT", "-5"),
                ("ENABLE_PERSISTENCE", "maybe"),
                ("QWEN_BASE_URL", "not a url"),
                ("LOG_LEVEL", "loud"),
            ],
            &[],
        ),
        NOW,
    );
    let vars: Vec<_> = c.general_errors().iter().map(|p| p.var).collect();
    for var in [
        "PORT",
        "SESSION_TIMEOUT",
        "ENABLE_PERSISTENCE",
        "QWEN_BASE_URL",
        "LOG_LEVEL",
    ] {
        assert!(vars.contains(&var), "{var} not reported in {vars:?}");
    }
    let port = c.problems.iter().find(|p| p.var == "PORT").unwrap();
    assert!(port.message.contains("\"abc\""), "{}", port.message);
    assert!(
        resolve(&sources(&[("PORT", "70000")], &[]), NOW)
            .general_errors()
            .iter()
            .any(|p| p.var == "PORT")
    );
}

#[test]
fn valid_credentials_have_no_problems_and_expiry_is_read() {
    let env = valid_env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let c = resolve(&sources(&env, &[]), NOW);
    assert!(c.problems.is_empty(), "{:?}", c.problems);
    assert_eq!(c.token_expiry, Some(NOW + 3 * 86_400));
    assert_eq!(describe_expiry(NOW + 3 * 86_400, NOW), "expires in 3 days");
    assert_eq!(describe_expiry(NOW - 7200, NOW), "expired 2 hours ago");
}

#[test]
fn cookie_without_token_is_extra_cookies_and_expired_token_a_warning() {
    // Without a token= the cookies are the extra ones logged-in accounts send.
    let c = resolve(
        &sources(&[("QWEN_COOKIES", "a=b; c=d"), ("QWEN_TOKEN", "x")], &[]),
        NOW,
    );
    assert!(c.credential_errors().is_empty());
    assert_eq!(c.credentials, CredentialSource::AccountsFile);

    let soon = format!("token={}", jwt(NOW + 3600));
    let c = resolve(
        &sources(&[("QWEN_COOKIES", &soon), ("QWEN_TOKEN", "x")], &[]),
        NOW,
    );
    assert_eq!(c.credentials, CredentialSource::Cookies);
    assert!(
        c.problems
            .iter()
            .any(|p| p.severity == Severity::Warning && p.message.contains("expires in 60 minutes")),
        "{:?}",
        c.problems
    );

    let cookie = format!("token={}", jwt(NOW - 60));
    let c = resolve(
        &sources(&[("QWEN_COOKIES", &cookie), ("QWEN_TOKEN", "x")], &[]),
        NOW,
    );
    assert!(c.credential_errors().is_empty());
    assert!(
        c.problems
            .iter()
            .any(|p| p.severity == Severity::Warning && p.message.contains("expired"))
    );
}

#[test]
fn quoted_token_cookie_is_read_like_the_client_reads_it() {
    let token = jwt(NOW + 3 * 86_400);
    let cookie = format!("cna=x; token=\"{token}\"; ssxmod_itna=1");
    let c = resolve(
        &sources(&[("QWEN_COOKIES", &cookie), ("QWEN_TOKEN", "x")], &[]),
        NOW,
    );
    assert!(c.problems.is_empty(), "{:?}", c.problems);
    assert_eq!(c.token_expiry, Some(NOW + 3 * 86_400));
    let cookies = c
        .qwen_cookies
        .as_ref()
        .map(Secret::expose)
        .unwrap_or_default();
    assert_eq!(
        crate::qwen::token_from_cookies(cookies),
        Some(token.as_str())
    );
}

#[test]
fn sources_come_first_found_first_served() {
    let cookie = format!("token={}", jwt(NOW + 86_400 * 3));
    let both = [
        ("QWEN_COOKIES", cookie.as_str()),
        ("QWEN_TOKEN", "x"),
        ("QWEN_EMAIL", "a@example.com"),
        ("QWEN_PASSWORD", "pw"),
    ];
    assert_eq!(
        resolve(&sources(&both, &[]), NOW).credentials,
        CredentialSource::Cookies
    );
    let login = resolve(&sources(&both[2..], &[]), NOW);
    assert!(login.problems.is_empty(), "{:?}", login.problems);
    assert!(matches!(
        &login.credentials,
        CredentialSource::Login { email, password } if email == "a@example.com" && password.expose() == "pw"
    ));
    // The password is a secret: shown redacted.
    let shown = login
        .shown
        .iter()
        .find(|s| s.var == "QWEN_PASSWORD")
        .unwrap();
    assert!(!shown.value.as_deref().unwrap_or_default().contains("pw"));
    // Half a login is an error naming the missing half.
    let half = resolve(&sources(&both[2..3], &[]), NOW);
    let vars: Vec<_> = half.credential_errors().iter().map(|p| p.var).collect();
    assert_eq!(vars, ["QWEN_PASSWORD"]);
    assert!(half.general_errors().is_empty());
    let file = resolve(
        &sources(&[("QWEN_ACCOUNTS_FILE", "/tmp/x/accounts.toml")], &[]),
        NOW,
    );
    assert_eq!(file.credentials, CredentialSource::AccountsFile);
    assert_eq!(
        file.accounts_file,
        std::path::PathBuf::from("/tmp/x/accounts.toml")
    );
    let bad = resolve(&sources(&[("QWEN_UMID_URL", "nope")], &[]), NOW);
    assert_eq!(bad.credential_errors()[0].var, "QWEN_UMID_URL");
}

#[test]
fn fake_upstream_stands_in_for_the_upstream_and_its_credentials() {
    let mut s = sources(
        &[
            ("QWEN_BASE_URL", "https://chat.example"),
            ("QWEN_COOKIES", "a=b"),
        ],
        &[],
    );
    assert_eq!(resolve(&s, NOW).credentials, CredentialSource::AccountsFile);

    s.fake_upstream = Some("http://127.0.0.1:4321".into());
    let c = resolve(&s, NOW);
    assert!(c.problems.is_empty(), "{:?}", c.problems);
    assert_eq!(c.base_url, "http://127.0.0.1:4321");
    assert_eq!(c.credentials, CredentialSource::Cookies);
    assert_eq!(
        c.qwen_cookies.as_ref().map(Secret::expose),
        Some(
            "token=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpZCI6ImZha2UtdXNlciIsImV4cCI6NDEwMjQ0NDgwMH0.fake-signature"
        )
    );
    assert_eq!(
        c.qwen_token.as_ref().map(Secret::expose),
        Some("fake-bx-umidtoken")
    );
    assert_eq!(c.token_expiry, Some(4_102_444_800));
    let origin = |var: &str| c.shown.iter().find(|s| s.var == var).map(|s| s.origin);
    for var in ["QWEN_BASE_URL", "QWEN_COOKIES", "QWEN_TOKEN"] {
        assert_eq!(origin(var), Some(Origin::Flag), "{var}");
    }
    assert_eq!(origin("PORT"), Some(Origin::Default));
}

#[test]
fn secrets_are_never_shown_or_debug_printed() {
    let env = valid_env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut s = sources(&env, &[]);
    s.env
        .insert("API_KEYS".into(), "sk-one-very-secret-key,sk-two".into());
    let c = resolve(&s, NOW);
    let shown = serde_json::to_string(&c.shown).unwrap();
    let debug = format!("{c:?} {:?}", c.upstream());
    for secret in [
        "T2gAumid",
        "sk-one-very-secret-key",
        "sk-two",
        &jwt(NOW + 3 * 86_400),
    ] {
        assert!(!shown.contains(secret), "{secret} leaked in shown");
        assert!(!debug.contains(secret), "{secret} leaked in Debug");
    }
    assert_eq!(c.api_keys.len(), 2);
}

#[test]
fn max_answer_bytes_has_a_generous_default_and_a_floor() {
    let c = resolve(&Sources::default(), NOW);
    assert_eq!(c.max_answer_bytes, 16 * 1024 * 1024);
    assert_eq!(c.upstream().max_answer_bytes, 16 * 1024 * 1024);
    let set = |v: &str| resolve(&sources(&[("MAX_ANSWER_BYTES", v)], &[]), NOW);
    assert_eq!(set("2097152").max_answer_bytes, 2 * 1024 * 1024);
    for bad in ["1000", "lots"] {
        let c = set(bad);
        assert!(
            c.general_errors()
                .iter()
                .any(|p| p.var == "MAX_ANSWER_BYTES"),
            "{bad}: {:?}",
            c.problems
        );
    }
}

#[test]
fn session_timeout_zero_means_never() {
    let c = resolve(&sources(&[("SESSION_TIMEOUT", "0")], &[]), NOW);
    assert_eq!(c.session_timeout, None);
}

#[test]
fn env_example_lists_every_variable() {
    let example = include_str!("../../.env.example");
    let listed: Vec<&str> = example
        .lines()
        .map(|l| l.trim_start_matches('#').trim())
        .filter_map(|l| l.split_once('=').map(|(k, _)| k.trim()))
        .filter(|k| !k.is_empty() && k.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
        .collect();
    for var in env::ALL {
        assert!(listed.contains(var), ".env.example misses {var}");
    }
    for var in &listed {
        assert!(env::ALL.contains(var), ".env.example has unknown {var}");
    }
}

#[test]
fn lenient_env_parsing_takes_pasted_cookie_headers() {
    let text = "# comment\n\nQWEN_COOKIES=cna=abc; token=x.y.z; x-ap=ap southeast\nexport QWEN_TOKEN='T2g A'\nPORT=\"3100\"\n";
    let vars = parse_env_lenient(text).unwrap();
    assert_eq!(
        vars["QWEN_COOKIES"],
        "cna=abc; token=x.y.z; x-ap=ap southeast"
    );
    assert_eq!(vars["QWEN_TOKEN"], "T2g A");
    assert_eq!(vars["PORT"], "3100");
    assert_eq!(parse_env_lenient("OK=1\nnot a pair\n"), Err(2));
    assert_eq!(parse_env_lenient("1BAD=1\n"), Err(1));
}

#[test]
fn env_file_errors_never_quote_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(".env");
    std::fs::write(
        &path,
        "QWEN_COOKIES=token=secret-value with spaces\nthis line is broken\n",
    )
    .unwrap();
    let err = Sources::from_process(Some(&path)).unwrap_err();
    assert!(err.contains("line 2"), "{err}");
    assert!(!err.contains("secret-value"), "{err}");
    std::fs::write(&path, "QWEN_COOKIES=token=secret-value with spaces\n").unwrap();
    let sources = Sources::from_process(Some(&path)).unwrap();
    assert_eq!(
        sources.dotenv["QWEN_COOKIES"],
        "token=secret-value with spaces"
    );
}

#[test]
fn model_aliases_are_parsed_and_invalid_entries_reported() {
    let c = resolve(&Sources::default(), NOW);
    assert!(c.model_aliases.is_empty());
    let shown = c.shown.iter().find(|s| s.var == "MODEL_ALIASES").unwrap();
    assert_eq!(
        (shown.value.as_deref(), shown.origin),
        (None, Origin::Default)
    );

    let c = resolve(
        &sources(
            &[("MODEL_ALIASES", "claude-*=qwen3-max, gpt-4o*=qwen3-max")],
            &[],
        ),
        NOW,
    );
    assert!(c.general_errors().is_empty(), "{:?}", c.problems);
    assert_eq!(
        c.model_aliases.resolve("claude-opus-4-1"),
        Some("qwen3-max")
    );
    assert_eq!(c.model_aliases.resolve("qwen3-max"), None);

    let c = resolve(
        &sources(&[], &[("MODEL_ALIASES", "claude-*=qwen3-max,gpt-4o")]),
        NOW,
    );
    let problem = c
        .problems
        .iter()
        .find(|p| p.var == "MODEL_ALIASES")
        .unwrap();
    assert_eq!(problem.severity, Severity::Error);
    assert!(
        problem.message.contains("\"gpt-4o\""),
        "{}",
        problem.message
    );
    assert!(c.model_aliases.is_empty());
}

#[test]
fn keys_are_named_by_list_and_position() {
    let c = resolve(
        &sources(
            &[
                ("API_KEYS", " sk-one , , sk-three,sk-admin,"),
                ("ADMIN_API_KEYS", "sk-admin"),
            ],
            &[],
        ),
        NOW,
    );
    let keys: Vec<(&str, &str, bool)> = c
        .api_keys
        .iter()
        .map(|k| (k.name.as_str(), k.secret.expose(), k.admin))
        .collect();
    assert_eq!(
        keys,
        [
            ("admin-1", "sk-admin", true),
            ("key-1", "sk-one", false),
            ("key-3", "sk-three", false),
        ],
        "a blanked key keeps the names after it; a repeated key keeps its first name"
    );
    let warning = c
        .problems
        .iter()
        .find(|p| p.var == "API_KEYS")
        .expect("a warning about the repeated key");
    assert_eq!(warning.severity, Severity::Warning);
    assert!(warning.message.contains("admin-1"), "{warning}");
    assert!(!warning.message.contains("sk-admin"), "{warning}");
    let shown = serde_json::to_string(&c.shown).unwrap();
    assert!(!shown.contains("sk-admin"), "ADMIN_API_KEYS is a secret");
    assert!(format!("{c:?}").find("sk-one").is_none());
}

#[test]
fn allowed_hosts_and_cors_origins_are_checked() {
    let c = resolve(
        &sources(
            &[
                ("ALLOWED_HOSTS", "qwen.example.com, box:8080"),
                ("CORS_ORIGINS", "https://App.example.com/"),
            ],
            &[],
        ),
        NOW,
    );
    assert!(c.general_errors().is_empty(), "{:?}", c.problems);
    assert!(c.allowed_hosts.allows("box", Some(8080)));
    assert_eq!(c.cors_origins.origins, ["https://app.example.com"]);
    let c = resolve(
        &sources(
            &[
                ("ALLOWED_HOSTS", "https://qwen.example.com"),
                ("CORS_ORIGINS", "app.example.com"),
            ],
            &[],
        ),
        NOW,
    );
    let vars: Vec<_> = c.general_errors().iter().map(|p| p.var).collect();
    assert_eq!(vars, ["ALLOWED_HOSTS", "CORS_ORIGINS"]);
    assert!(!c.allowed_hosts.any && c.allowed_hosts.hosts.is_empty());
}

#[test]
fn the_console_follows_the_data_endpoints() {
    let c = resolve(&sources(&[], &[]), NOW);
    assert!(c.enable_ui, "on by default");
    let c = resolve(&sources(&[("ENABLE_UI", "false")], &[]), NOW);
    assert!(!c.enable_ui && c.enable_crud_api);
    // Without the data endpoints there is nothing for the console to read.
    let c = resolve(&sources(&[("ENABLE_CRUD_API", "false")], &[]), NOW);
    assert!(!c.enable_ui);
    assert!(
        c.problems.iter().all(|p| p.var != "ENABLE_UI"),
        "{:?}",
        c.problems
    );
    let c = resolve(
        &sources(&[("ENABLE_CRUD_API", "false"), ("ENABLE_UI", "true")], &[]),
        NOW,
    );
    assert!(!c.enable_ui);
    let warning = c.problems.iter().find(|p| p.var == "ENABLE_UI").unwrap();
    assert_eq!(warning.severity, Severity::Warning);
    assert!(
        warning.message.contains("ENABLE_CRUD_API"),
        "{}",
        warning.message
    );
    let c = resolve(&sources(&[("ENABLE_UI", "sometimes")], &[]), NOW);
    assert!(c.general_errors().iter().any(|p| p.var == "ENABLE_UI"));
}
