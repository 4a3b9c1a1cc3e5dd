//! The pool's decisions against a tiny in-test sign-in server: when a token is renewed,
//! which account a call gets, how cooldowns and refusals steer the choice, and that the
//! error when nobody can answer is the right one.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use serde_json::json;

use super::pool::sha256_hex;
use super::*;
use crate::config::{CredentialSource, Secret};
use crate::qwen::{QwenClient, QwenError, UpstreamConfig};

/// A JWT (unsigned: only the upstream checks signatures) with `iat` and `exp`.
fn jwt(iat: i64, exp: i64) -> String {
    use base64::Engine as _;
    let enc = |v: serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    format!(
        "{}.{}.sig",
        enc(json!({"alg": "HS256"})),
        enc(json!({"id": "u", "iat": iat, "exp": exp}))
    )
}

fn client(base: &str) -> QwenClient {
    QwenClient::new(UpstreamConfig {
        base_url: base.to_owned(),
        bx_v: "2.5.37".into(),
        web_version: "0.3.12".into(),
        user_agent: "test".into(),
        retry_max_attempts: 1,
        connect_timeout: Duration::from_secs(2),
        first_byte_timeout: Duration::from_secs(5),
        idle_timeout: Duration::from_secs(5),
        max_answer_bytes: 1 << 20,
        models_cache: Duration::from_secs(60),
        models_cache_file: None,
    })
    .expect("client")
}

fn login(name: &str) -> AccountSpec {
    AccountSpec {
        name: name.to_owned(),
        secret: AccountSecret::Login {
            email: format!("{name}@example.com"),
            password: Secret::new(format!("{name}-password")),
        },
    }
}

fn pool(base: &str, names: &[&str]) -> Pool {
    let roster = Roster {
        source: CredentialSource::AccountsFile,
        accounts: names.iter().map(|n| login(n)).collect(),
        tokens_file: None,
    };
    let shared = Shared {
        umid: Some(Secret::new("umid-fixed")),
        ..Shared::default()
    };
    Pool::new(client(base), roster, shared).expect("pool")
}

/// A sign-in endpoint that issues tokens living `lifetime` seconds and counts sign-ins;
/// `GET /api/v1/auths/` accepts any token.
async fn signin_server(lifetime: i64) -> (String, Arc<AtomicUsize>) {
    let count = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&count);
    let app = Router::new()
        .route(
            "/api/v1/auths/signin",
            post(move |body: axum::Json<serde_json::Value>| {
                let n = counter.fetch_add(1, Ordering::SeqCst);
                async move {
                    if body["password"] == sha256_hex("wrong-password") {
                        return (
                            axum::http::StatusCode::BAD_REQUEST,
                            axum::Json(
                                json!({"detail": "The email or password provided is incorrect."}),
                            ),
                        );
                    }
                    let now = crate::time::unix_now();
                    // Each token differs, so a test can tell them apart.
                    let token = jwt(now, now + lifetime);
                    (
                        axum::http::StatusCode::OK,
                        axum::Json(json!({"token": format!("{token}{n}")})),
                    )
                }
            }),
        )
        .route(
            "/api/v1/auths/",
            get(|| async { axum::Json(json!({"id": "u"})) }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, count)
}

async fn call_ok(pool: &Pool, lease: &Lease) -> Result<(), QwenError> {
    let client = pool.client().clone();
    pool.call(lease, client.deadline(), |creds| {
        let client = client.clone();
        async move {
            assert!(creds.has_token());
            client.check_auth(&creds).await
        }
    })
    .await
}

#[tokio::test]
async fn a_fresh_token_is_reused_and_a_short_lived_one_renewed() {
    let (url, signins) = signin_server(3600).await;
    let p = pool(&url, &["alice"]);
    let lease = p.lease("alice").unwrap();
    call_ok(&p, &lease).await.unwrap();
    call_ok(&p, &lease).await.unwrap();
    assert_eq!(
        signins.load(Ordering::SeqCst),
        1,
        "an hour-long token is reused"
    );
    assert!(p.token_expiry(&lease).is_some());

    // Tokens that live 1 s have less than a fifth of their lifetime left almost at once
    // after a second: every call past it renews.
    let (url, signins) = signin_server(1).await;
    let p = pool(&url, &["alice"]);
    let lease = p.lease("alice").unwrap();
    call_ok(&p, &lease).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    call_ok(&p, &lease).await.unwrap();
    assert_eq!(signins.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn concurrent_callers_share_one_sign_in() {
    let (url, signins) = signin_server(3600).await;
    let p = pool(&url, &["alice"]);
    let lease = p.lease("alice").unwrap();
    let calls = (0..10).map(|_| {
        let (p, lease) = (p.clone(), lease.clone());
        tokio::spawn(async move { call_ok(&p, &lease).await })
    });
    for call in calls.collect::<Vec<_>>() {
        call.await.unwrap().unwrap();
    }
    assert_eq!(signins.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_refused_token_gets_one_new_login_and_one_retry() {
    let (url, signins) = signin_server(3600).await;
    let p = pool(&url, &["alice"]);
    let lease = p.lease("alice").unwrap();
    let attempts = AtomicUsize::new(0);
    let result = p
        .call(&lease, p.client().deadline(), |_creds| {
            let n = attempts.fetch_add(1, Ordering::SeqCst);
            async move {
                if n == 0 {
                    Err(QwenError::Auth {
                        detail: "HTTP 401".into(),
                    })
                } else {
                    Ok(n)
                }
            }
        })
        .await;
    assert_eq!(result, Ok(1));
    assert_eq!(signins.load(Ordering::SeqCst), 2);
    // Refused again after the new login: the account is named, no third try.
    let attempts = AtomicUsize::new(0);
    let err = p
        .call(&lease, p.client().deadline(), |_creds| {
            attempts.fetch_add(1, Ordering::SeqCst);
            async {
                Err::<(), _>(QwenError::Auth {
                    detail: "HTTP 401".into(),
                })
            }
        })
        .await
        .unwrap_err();
    assert_eq!(attempts.load(Ordering::SeqCst), 2);
    assert!(
        matches!(&err, QwenError::Login { account, .. } if account == "alice"),
        "{err}"
    );
}

#[tokio::test]
async fn selection_prefers_the_owner_then_the_least_recently_used() {
    let (url, _) = signin_server(3600).await;
    let p = pool(&url, &["a", "b", "c"]);
    let order: Vec<String> = (0..4)
        .map(|_| p.acquire(None, &[]).unwrap().name().to_owned())
        .collect();
    assert_eq!(order, ["a", "b", "c", "a"]);
    assert_eq!(p.acquire(Some("c"), &[]).unwrap().name(), "c");
    // The owner is left out once tried; the others by use.
    assert_eq!(p.acquire(Some("c"), &["c".into()]).unwrap().name(), "b");
    assert_eq!(p.acquire(Some("gone"), &[]).unwrap().name(), "a");
}

#[tokio::test]
async fn cooldowns_steer_between_accounts_and_the_earliest_end_is_reported() {
    let (url, _) = signin_server(3600).await;
    let p = pool(&url, &["a", "b"]);
    let limited = |secs| QwenError::RateLimited {
        detail: "slow down".into(),
        retry_after: Some(Duration::from_secs(secs)),
    };
    let a = p.lease("a").unwrap();
    p.note_failure(&a, &limited(300));
    assert_eq!(p.acquire(Some("a"), &[]).unwrap().name(), "b");
    let b = p.lease("b").unwrap();
    p.note_failure(&b, &limited(120));
    let err = p.acquire(None, &[]).unwrap_err().into_error();
    match err {
        QwenError::RateLimited {
            retry_after: Some(wait),
            ..
        } => assert!(wait <= Duration::from_secs(120) && wait > Duration::from_secs(110)),
        other => panic!("{other}"),
    }
    let health = p.health();
    assert!(health.iter().all(|h| h.status == "cooling_down"));
    assert!(health[0].cooldown_until.is_some());
    // The quota form (`num` hours) and no wait at all (60 s) cool down too.
    let (url, _) = signin_server(3600).await;
    let single = pool(&url, &["solo"]);
    let solo = single.lease("solo").unwrap();
    single.note_failure(
        &solo,
        &QwenError::RateLimited {
            detail: "quota".into(),
            retry_after: None,
        },
    );
    assert_eq!(single.health()[0].status, "cooling_down");
    // A lone account is leased all the same: every request still goes upstream.
    assert_eq!(single.acquire(None, &[]).unwrap().name(), "solo");
    assert!(single.acquire(None, &["solo".into()]).is_err());
}

#[tokio::test]
async fn a_refused_login_is_remembered_and_not_retried_at_once() {
    let (url, signins) = signin_server(3600).await;
    let roster = Roster {
        source: CredentialSource::AccountsFile,
        accounts: vec![
            AccountSpec {
                name: "bad".into(),
                secret: AccountSecret::Login {
                    email: "bad@example.com".into(),
                    password: Secret::new("wrong-password"),
                },
            },
            login("good"),
        ],
        tokens_file: None,
    };
    let p = Pool::new(client(&url), roster, Shared::default()).unwrap();
    let bad = p.lease("bad").unwrap();
    let err = call_ok(&p, &bad).await.unwrap_err();
    assert!(
        matches!(&err, QwenError::Login { account, .. } if account == "bad"),
        "{err}"
    );
    assert!(!err.to_string().contains("wrong-password"), "{err}");
    let again = call_ok(&p, &bad).await.unwrap_err();
    assert_eq!(again, err);
    assert_eq!(
        signins.load(Ordering::SeqCst),
        1,
        "the wrong password was sent once"
    );
    assert_eq!(p.acquire(None, &[]).unwrap().name(), "good");
    assert_eq!(p.health()[0].status, "auth_failed");
    assert_eq!(p.health()[0].email.as_deref(), Some("b***@example.com"));
}

#[test]
fn hashes_and_masks() {
    assert_eq!(
        sha256_hex("password"),
        "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8"
    );
    assert_eq!(mask_email("alice@example.com"), "a***@example.com");
    assert_eq!(mask_email("nobody"), "n***");
}

#[tokio::test]
async fn a_fetched_umid_token_is_kept_until_a_block_rejects_it() {
    let fetches = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&fetches);
    let (signin_url, _) = signin_server(3600).await;
    let app = Router::new().route(
        "/w/wu.json",
        get(move || {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            async move { format!("umx.wu('T2gAumid-number-{n}')") }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let umid_url = format!("http://{}/w/wu.json", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let roster = Roster {
        source: CredentialSource::AccountsFile,
        accounts: vec![login("alice")],
        tokens_file: None,
    };
    let shared = Shared {
        umid_url,
        ..Shared::default()
    };
    let p = Pool::new(client(&signin_url), roster, shared).unwrap();
    let lease = p.lease("alice").unwrap();
    call_ok(&p, &lease).await.unwrap();
    call_ok(&p, &lease).await.unwrap();
    assert_eq!(
        fetches.load(Ordering::SeqCst),
        1,
        "one token for the sign-in and both calls"
    );
    p.note_failure(
        &lease,
        &QwenError::Blocked {
            detail: "captcha".into(),
        },
    );
    call_ok(&p, &lease).await.unwrap();
    assert_eq!(
        fetches.load(Ordering::SeqCst),
        2,
        "a new token after the block"
    );
    // The fetched tokens are secrets like the others.
    assert_eq!(
        p.client().redactor().text("T2gAumid-number-1"),
        "<redacted>"
    );
}
