//! The session token: the JWT in the cookie header's `token=` cookie, and its `exp` and
//! `iat` claims.
//!
//! The client sends this JWT as `Authorization: Bearer`, and `validate-config` checks that it
//! is there and when it expires; both read it through these two functions, so a cookie the
//! client can use is never reported as missing or malformed (a quoted `token="eyJ…"` is one
//! such case: browsers and cookie jars keep the quotes, the upstream wants the bare JWT).
//! Pure string and base64 work, no HTTP, so the configuration can depend on it without
//! depending on the client.

use base64::Engine as _;

/// The JWT inside a cookie string (`token=<JWT>`): the value of the cookie named exactly
/// `token`, trimmed and without surrounding double quotes. `None` when there is no such cookie
/// or it is empty.
pub fn token_from_cookies(cookies: &str) -> Option<&str> {
    cookies
        .split(';')
        .filter_map(|pair| pair.split_once('='))
        .find(|(name, _)| name.trim() == "token")
        .map(|(_, value)| value.trim().trim_matches('"'))
        .filter(|value| !value.is_empty())
}

/// The `exp` claim (unix seconds) of a JWT, when its payload decodes to JSON with a whole
/// number there. The signature is not checked: only the upstream can do that.
pub fn jwt_expiry(jwt: &str) -> Option<i64> {
    claims(jwt)?.get("exp")?.as_i64()
}

/// The `iat` claim (unix seconds, when the token was issued), if the JWT has one. With
/// `exp` it gives the token's lifetime, which decides when to renew it (design.md §12).
pub fn jwt_issued_at(jwt: &str) -> Option<i64> {
    claims(jwt)?.get("iat")?.as_i64()
}

fn claims(jwt: &str) -> Option<serde_json::Value> {
    let payload = jwt.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_is_found_in_the_cookie_string() {
        assert_eq!(
            token_from_cookies("a=1; token=abc.def; b=2"),
            Some("abc.def")
        );
        assert_eq!(token_from_cookies("token=abc"), Some("abc"));
        assert_eq!(token_from_cookies(" token = \"abc\" "), Some("abc"));
        assert_eq!(token_from_cookies("xtoken=1; token_old=2"), None);
        assert_eq!(token_from_cookies("token=; a=b"), None);
        assert_eq!(token_from_cookies("token=\"\"; a=b"), None);
        assert_eq!(token_from_cookies(""), None);
    }

    #[test]
    fn expiry_is_read_from_the_payload() {
        // {"alg":"HS256","typ":"JWT"} . {"id":"fake-user","exp":4102444800}
        let jwt = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpZCI6ImZha2UtdXNlciIsImV4cCI6NDEwMjQ0NDgwMH0.sig";
        assert_eq!(jwt_expiry(jwt), Some(4_102_444_800));
        let quoted = format!("cna=x; token=\"{jwt}\"; b=2");
        assert_eq!(
            token_from_cookies(&quoted).and_then(jwt_expiry),
            Some(4_102_444_800)
        );
        // {"id":"u"}: a JWT without an expiry.
        assert_eq!(jwt_expiry("eyJhbGciOiJIUzI1NiJ9.eyJpZCI6InUifQ.sig"), None);
        assert_eq!(jwt_expiry("not-a-jwt"), None);
        assert_eq!(jwt_expiry("a.%%%.c"), None);
        // {"id":"u","iat":1000,"exp":1900}
        let timed = "eyJhbGciOiJIUzI1NiJ9.eyJpZCI6InUiLCJpYXQiOjEwMDAsImV4cCI6MTkwMH0.sig";
        assert_eq!(jwt_issued_at(timed), Some(1000));
        assert_eq!(jwt_expiry(timed), Some(1900));
        assert_eq!(jwt_issued_at(jwt), None);
    }
}
