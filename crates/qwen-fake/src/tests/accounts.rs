//! The fake with accounts: sign-in, the JWTs it issues and refuses, chats that belong to
//! one account, per-account rate limits (in process and over the test hook), and the
//! anti-bot token endpoint.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};

use super::{answer_of, body, client};
use crate::{
    AccountLimit, COMPLETIONS_PATH, FakeAccount, FakeOptions, FakeUpstream, now_secs, sha256_hex,
};

const ALICE: &str = "alice@example.com";
const BOB: &str = "bob@example.com";
const ALICE_PASSWORD: &str = "correct horse";
const BOB_PASSWORD: &str = "battery staple";
const WRONG: &str =
    "The email or password provided is incorrect. Please check for typos and try logging in again.";

async fn with_accounts(lifetime: Duration) -> FakeUpstream {
    FakeUpstream::start(FakeOptions {
        accounts: vec![
            FakeAccount::new(ALICE, ALICE_PASSWORD),
            FakeAccount::new(BOB, BOB_PASSWORD),
        ],
        token_lifetime: lifetime,
        ..FakeOptions::default()
    })
    .await
    .expect("fake starts")
}

async fn sign_in_raw(fake: &FakeUpstream, body: &Value) -> reqwest::Response {
    client()
        .post(format!("{}/api/v1/auths/signin", fake.url()))
        .json(body)
        .send()
        .await
        .unwrap()
}

/// Signs in and returns the token.
async fn sign_in(fake: &FakeUpstream, email: &str, password: &str) -> String {
    let response = sign_in_raw(
        fake,
        &json!({"email": email, "password": sha256_hex(password), "login_type": "email"}),
    )
    .await;
    assert_eq!(response.status(), 200);
    let json: Value = response.json().await.unwrap();
    json["token"].as_str().unwrap().to_owned()
}

async fn get(fake: &FakeUpstream, path: &str, token: &str) -> reqwest::Response {
    client()
        .get(format!("{}{path}", fake.url()))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

/// `POST /api/v2/chats/new` as `token`: the raw response.
async fn new_chat_as(fake: &FakeUpstream, token: &str) -> reqwest::Response {
    client()
        .post(format!("{}/api/v2/chats/new", fake.url()))
        .bearer_auth(token)
        .json(&json!({"chatId": "", "models": ["qwen3.7-plus"], "chat_type": "t2t"}))
        .send()
        .await
        .unwrap()
}

async fn chat_of(fake: &FakeUpstream, token: &str) -> String {
    let response: Value = new_chat_as(fake, token).await.json().await.unwrap();
    assert_eq!(response["success"], true, "{response}");
    response["data"]["id"].as_str().unwrap().to_owned()
}

async fn complete_as(
    fake: &FakeUpstream,
    token: &str,
    chat: &str,
    content: &str,
) -> reqwest::Response {
    client()
        .post(format!("{}{COMPLETIONS_PATH}", fake.url()))
        .query(&[("chat_id", chat)])
        .bearer_auth(token)
        .json(&body(chat, None, content))
        .send()
        .await
        .unwrap()
}

fn claims(token: &str) -> (Value, Value) {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "{token}");
    let decode = |part: &str| -> Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
    };
    assert!(!parts[2].is_empty());
    (decode(parts[0]), decode(parts[1]))
}

#[test]
fn fake_sha256_hex_is_the_standard_digest() {
    assert_eq!(
        sha256_hex("abc"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
}

#[test]
fn fake_account_debug_hides_the_password() {
    let options = FakeOptions {
        accounts: vec![FakeAccount::new(ALICE, ALICE_PASSWORD)],
        ..FakeOptions::default()
    };
    let printed = format!("{options:?}");
    assert!(printed.contains(ALICE), "{printed}");
    assert!(!printed.contains(ALICE_PASSWORD), "{printed}");
}

#[tokio::test]
async fn fake_signin_accepts_the_right_password_only() {
    let fake = with_accounts(Duration::from_secs(900)).await;
    let right = sign_in_raw(
        &fake,
        &json!({"email": ALICE, "password": sha256_hex(ALICE_PASSWORD), "login_type": "email"}),
    )
    .await;
    assert_eq!(right.status(), 200);
    let cookie = right.headers()["set-cookie"].to_str().unwrap().to_owned();
    let user: Value = right.json().await.unwrap();
    let token = user["token"].as_str().unwrap();
    assert_eq!(cookie, format!("token={token}; Path=/"));
    assert_eq!(user["email"], ALICE);
    assert_eq!(user["name"], "alice");
    assert_eq!(user["token_type"], "Bearer");
    assert!(user["id"].as_str().is_some_and(|id| id.len() == 36));
    assert!(user["expires_at"].as_u64().is_some());
    assert_eq!(fake.signins(ALICE), 1);

    let refusals = [
        // The plain password instead of its hash.
        json!({"email": ALICE, "password": ALICE_PASSWORD}),
        // Another account's password.
        json!({"email": ALICE, "password": sha256_hex(BOB_PASSWORD)}),
        json!({"email": "carol@example.com", "password": sha256_hex(ALICE_PASSWORD)}),
    ];
    for refusal in refusals {
        let response = sign_in_raw(&fake, &refusal).await;
        assert_eq!(response.status(), 400, "{refusal}");
        assert!(response.headers().get("set-cookie").is_none());
        let json: Value = response.json().await.unwrap();
        assert_eq!(json, json!({"detail": WRONG}), "{refusal}");
    }
    assert_eq!(fake.signins(ALICE), 1, "only successful sign-ins count");
    assert_eq!(fake.signins(BOB), 0);

    for malformed in [
        "not json",
        r#"{"email": "alice@example.com"}"#,
        r#"{"email": 1, "password": "x"}"#,
    ] {
        let response = client()
            .post(format!("{}/api/v1/auths/signin", fake.url()))
            .header("content-type", "application/json")
            .body(malformed)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{malformed}");
        let json: Value = response.json().await.unwrap();
        assert!(
            json["detail"]
                .as_str()
                .is_some_and(|d| d.contains("password")),
            "{json}"
        );
    }

    // Emails are matched as Open WebUI matches them, ignoring case.
    sign_in(&fake, "Alice@Example.com", ALICE_PASSWORD).await;
    assert_eq!(fake.signins(ALICE), 2);
}

#[tokio::test]
async fn fake_tokens_are_jwts_with_the_captured_claims() {
    let lifetime = 120;
    let fake = with_accounts(Duration::from_secs(lifetime)).await;
    let before = now_secs();
    let response = sign_in_raw(
        &fake,
        &json!({"email": BOB, "password": sha256_hex(BOB_PASSWORD)}),
    )
    .await;
    let user: Value = response.json().await.unwrap();
    let token = user["token"].as_str().unwrap();
    let (header, payload) = claims(token);
    assert_eq!(
        header,
        json!({"alg": "HS256", "kid": "legacy", "typ": "JWT"})
    );
    let keys: Vec<&str> = payload
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys.len(), 5, "{payload}");
    assert_eq!(payload["id"], user["id"]);
    assert_eq!(payload["type"], "access_token");
    assert!(payload["last_password_change"].as_u64().is_some());
    let iat = payload["iat"].as_u64().unwrap();
    let exp = payload["exp"].as_u64().unwrap();
    assert!(iat >= before && iat <= now_secs());
    assert_eq!(exp - iat, lifetime);
    assert_eq!(user["expires_at"], exp);

    // The token works, and names its account.
    let me = get(&fake, "/api/v1/auths/", token).await;
    assert_eq!(me.status(), 200);
    let me: Value = me.json().await.unwrap();
    assert_eq!(me["email"], BOB);
    assert_eq!(me["id"], user["id"]);

    // The account id is stable: another instance gives the same id, but its tokens are
    // not accepted here (each instance signs with its own secret).
    let other = with_accounts(Duration::from_secs(lifetime)).await;
    let foreign = token_and_id(&other, BOB, BOB_PASSWORD).await;
    assert_eq!(foreign.1, user["id"]);
    assert_eq!(get(&fake, "/api/v1/auths/", &foreign.0).await.status(), 401);

    // A token whose payload was changed (a later exp) no longer verifies.
    let parts: Vec<&str> = token.split('.').collect();
    let mut forged = payload.clone();
    forged["exp"] = json!(exp + 3600);
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(forged.to_string()),
        parts[2]
    );
    for bad in [forged.as_str(), "junk", "a.b.c", ""] {
        let response = get(&fake, "/api/v2/chats/", bad).await;
        assert_eq!(response.status(), 401, "{bad}");
        assert_eq!(response.text().await.unwrap(), "unauthorized");
    }

    // Revoked tokens fail before they expire; a new sign-in works.
    assert!(fake.revoke_tokens(BOB));
    assert_eq!(get(&fake, "/api/v1/auths/", token).await.status(), 401);
    let fresh = sign_in(&fake, BOB, BOB_PASSWORD).await;
    assert_eq!(get(&fake, "/api/v1/auths/", &fresh).await.status(), 200);
    assert!(!fake.revoke_tokens("nobody@example.com"));
}

async fn token_and_id(fake: &FakeUpstream, email: &str, password: &str) -> (String, Value) {
    let response = sign_in_raw(
        fake,
        &json!({"email": email, "password": sha256_hex(password)}),
    )
    .await;
    let user: Value = response.json().await.unwrap();
    (
        user["token"].as_str().unwrap().to_owned(),
        user["id"].clone(),
    )
}

#[tokio::test]
async fn fake_refuses_expired_tokens() {
    let fake = with_accounts(Duration::from_secs(1)).await;
    let token = sign_in(&fake, ALICE, ALICE_PASSWORD).await;
    let exp = claims(&token).1["exp"].as_u64().unwrap();
    // Wait (in real time: the fake reads the wall clock) until the token's second is over.
    for _ in 0..100 {
        if now_secs() >= exp {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(now_secs() >= exp, "the clock passed exp");
    for path in ["/api/v1/auths/", "/api/v2/chats/"] {
        let response = get(&fake, path, &token).await;
        assert_eq!(response.status(), 401, "{path}");
        assert_eq!(response.text().await.unwrap(), "unauthorized");
    }
    let created = new_chat_as(&fake, &token).await;
    assert_eq!(created.status(), 401);
    // The open routes stay open.
    let models = client()
        .get(format!("{}/api/v2/models/", fake.url()))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(models.status(), 200);
}

#[tokio::test]
async fn fake_requires_the_token_cookie_to_match_the_bearer() {
    let fake = with_accounts(Duration::from_secs(900)).await;
    let alice = sign_in(&fake, ALICE, ALICE_PASSWORD).await;
    let bob = sign_in(&fake, BOB, BOB_PASSWORD).await;
    let with_cookie = |cookie: String| {
        client()
            .get(format!("{}/api/v1/auths/", fake.url()))
            .bearer_auth(&alice)
            .header("cookie", cookie)
            .send()
    };
    let cases = [
        (format!("ssxmod_itna=1-abc; token={alice}; cna=x"), 200),
        (format!("token=\"{alice}\""), 200),
        ("ssxmod_itna=1-abc; cna=x".to_owned(), 200),
        (format!("ssxmod_itna=1-abc; token={bob}"), 401),
        ("token=stale".to_owned(), 401),
        (format!("token={alice}; token={bob}"), 401),
    ];
    for (cookie, status) in cases {
        let response = with_cookie(cookie.clone()).await.unwrap();
        assert_eq!(response.status(), status, "{cookie}");
    }
    // Without a bearer a cookie alone is not enough.
    let cookie_only = client()
        .get(format!("{}/api/v1/auths/", fake.url()))
        .header("cookie", format!("token={alice}"))
        .send()
        .await
        .unwrap();
    assert_eq!(cookie_only.status(), 401);
}

#[tokio::test]
async fn fake_chats_belong_to_the_account_that_created_them() {
    let fake = with_accounts(Duration::from_secs(900)).await;
    let alice = sign_in(&fake, ALICE, ALICE_PASSWORD).await;
    let bob = sign_in(&fake, BOB, BOB_PASSWORD).await;
    let chat = chat_of(&fake, &alice).await;
    assert_eq!(fake.account_of_chat(&chat).as_deref(), Some(ALICE));
    let text = complete_as(&fake, &alice, &chat, "hello")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(answer_of(&text), "You said: hello");

    // Bob gets exactly what an unknown chat gets.
    let unknown = "00000000-0000-4000-8000-00000000dead";
    let envelope = |mut json: Value| {
        json["request_id"] = Value::Null;
        json
    };
    let foreign = complete_as(&fake, &bob, &chat, "mine now").await;
    let missing = complete_as(&fake, &bob, unknown, "mine now").await;
    assert_eq!(foreign.status(), missing.status());
    let foreign = envelope(foreign.json().await.unwrap());
    assert_eq!(foreign, envelope(missing.json().await.unwrap()));
    assert_eq!(foreign["data"]["code"], "Not_Found");
    let detail = |token: String, id: &str| {
        let url = format!("{}/api/v2/chats/{id}", fake.url());
        async move {
            let response = client().get(url).bearer_auth(token).send().await.unwrap();
            envelope(response.json::<Value>().await.unwrap())
        }
    };
    let foreign = detail(bob.clone(), &chat).await;
    assert_eq!(foreign, detail(bob.clone(), unknown).await);
    assert_eq!(foreign["data"]["code"], "Not_Found");
    let deleted = client()
        .delete(format!("{}/api/v2/chats/{chat}", fake.url()))
        .bearer_auth(&bob)
        .send()
        .await
        .unwrap();
    let deleted = envelope(deleted.json().await.unwrap());
    assert_eq!(deleted["data"]["code"], "Not_Found");
    assert_eq!(fake.chat_count(), 1, "Bob's delete did nothing");

    // Lists show one's own chats only.
    let bobs_chat = chat_of(&fake, &bob).await;
    let ids = |list: Value| -> Vec<String> {
        list["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let list = get(&fake, "/api/v2/chats/", &alice)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ids(list), [chat.as_str()]);
    let list = get(&fake, "/api/v2/chats/", &bob)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ids(list), [bobs_chat.as_str()]);
    assert_eq!(fake.account_of_chat(&bobs_chat).as_deref(), Some(BOB));

    // Alice still has her chat, with its turn, and can delete it.
    let mine = detail(alice.clone(), &chat).await;
    assert_eq!(mine["success"], true);
    assert_eq!(
        mine["data"]["chat"]["messages"].as_array().map(Vec::len),
        Some(2)
    );
    let deleted: Value = client()
        .delete(format!("{}/api/v2/chats/{chat}", fake.url()))
        .bearer_auth(&alice)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(deleted["success"], true);
    assert_eq!(fake.account_of_chat(&chat), None);
    assert_eq!(fake.completions_by(ALICE), 1);
    assert_eq!(fake.completions_by(BOB), 2, "refused requests count too");
}

#[tokio::test]
async fn fake_rate_limits_one_account_at_a_time() {
    let fake = with_accounts(Duration::from_secs(900)).await;
    let alice = sign_in(&fake, ALICE, ALICE_PASSWORD).await;
    let bob = sign_in(&fake, BOB, BOB_PASSWORD).await;
    let alices_chat = chat_of(&fake, &alice).await;
    let bobs_chat = chat_of(&fake, &bob).await;

    assert!(fake.set_account_limit(
        ALICE,
        Some(AccountLimit::Http429 {
            retry_after_secs: 30
        })
    ));
    let created = new_chat_as(&fake, &alice).await;
    assert_eq!(created.status(), 429);
    assert_eq!(created.headers()["retry-after"], "30");
    let json: Value = created.json().await.unwrap();
    assert_eq!(json["data"]["code"], "Too_Many_Requests");
    let answered = complete_as(&fake, &alice, &alices_chat, "hi").await;
    assert_eq!(answered.status(), 429);
    assert_eq!(answered.headers()["retry-after"], "30");
    assert_bob_unaffected(&fake, &bob, &bobs_chat).await;

    assert!(fake.set_account_limit(ALICE, Some(AccountLimit::Quota { hours: 5 })));
    for response in [
        new_chat_as(&fake, &alice).await,
        complete_as(&fake, &alice, &alices_chat, "hi").await,
    ] {
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "application/json");
        let json: Value = response.json().await.unwrap();
        assert_eq!(json["success"], false);
        assert_eq!(json["data"]["code"], "RateLimited");
        assert_eq!(json["data"]["num"], 5);
    }
    assert_bob_unaffected(&fake, &bob, &bobs_chat).await;

    assert!(fake.set_account_limit(ALICE, None));
    let text = complete_as(&fake, &alice, &alices_chat, "back")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(answer_of(&text), "You said: back");
    assert!(!fake.set_account_limit("nobody@example.com", None));
    assert_eq!(fake.completions_by(ALICE), 3);
    assert_eq!(fake.completions_by(BOB), 2);
}

async fn assert_bob_unaffected(fake: &FakeUpstream, bob: &str, chat: &str) {
    assert_eq!(new_chat_as(fake, bob).await.status(), 200);
    let text = complete_as(fake, bob, chat, "still fine")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(answer_of(&text), "You said: still fine");
}

#[tokio::test]
async fn fake_account_limits_over_the_test_hook() {
    let fake = with_accounts(Duration::from_secs(900)).await;
    let alice = sign_in(&fake, ALICE, ALICE_PASSWORD).await;
    let hook = |body: Value| {
        client()
            .post(format!("{}/__fake/accounts/limit", fake.url()))
            .json(&body)
            .send()
    };
    let set = hook(json!({"email": ALICE, "retry_after_secs": 12}))
        .await
        .unwrap();
    assert_eq!(set.status(), 200);
    let created = new_chat_as(&fake, &alice).await;
    assert_eq!(created.status(), 429);
    assert_eq!(created.headers()["retry-after"], "12");

    assert_eq!(
        hook(json!({"email": ALICE, "hours": 3}))
            .await
            .unwrap()
            .status(),
        200
    );
    let json: Value = new_chat_as(&fake, &alice).await.json().await.unwrap();
    assert_eq!(json["data"]["code"], "RateLimited");
    assert_eq!(json["data"]["num"], 3);

    assert_eq!(
        hook(json!({"email": ALICE, "clear": true}))
            .await
            .unwrap()
            .status(),
        200
    );
    chat_of(&fake, &alice).await;

    let refused = [
        (json!({"email": "nobody@example.com", "hours": 1}), 404),
        (json!({"email": ALICE}), 400),
        (
            json!({"email": ALICE, "hours": 1, "retry_after_secs": 1}),
            400,
        ),
        (json!({"email": ALICE, "hours": -1}), 400),
        (json!({"email": ALICE, "clear": false}), 400),
        (json!({"hours": 1}), 400),
    ];
    for (body, status) in refused {
        let response = hook(body.clone()).await.unwrap();
        assert_eq!(response.status(), status, "{body}");
        let json: Value = response.json().await.unwrap();
        assert!(json["detail"].is_string(), "{json}");
    }
    chat_of(&fake, &alice).await;

    let revoked = client()
        .post(format!("{}/__fake/accounts/revoke", fake.url()))
        .json(&json!({"email": ALICE}))
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    assert_eq!(new_chat_as(&fake, &alice).await.status(), 401);
}

#[tokio::test]
async fn fake_serves_anti_bot_tokens() {
    let fake = super::fake().await;
    let mut seen = Vec::new();
    for _ in 0..2 {
        let response = client()
            .get(format!("{}/w/wu.json", fake.url()))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let etag = response.headers()["etag"].to_str().unwrap().to_owned();
        let text = response.text().await.unwrap();
        assert_eq!(text, format!("umx.wu('{etag}')"));
        let encoded = etag.strip_prefix("T2gA").unwrap();
        assert!(
            STANDARD.decode(encoded).is_ok_and(|b| b.len() >= 16),
            "{etag}"
        );
        seen.push(etag);
    }
    assert_ne!(seen[0], seen[1], "a fresh token per call");
    assert_eq!(fake.count("/w/wu.json"), 2);
}
