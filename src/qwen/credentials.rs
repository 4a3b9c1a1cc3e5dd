//! The credentials one upstream call is made with: the `Cookie` header, the bearer token and
//! the `bx-umidtoken` (PROTOCOL.md §2).
//!
//! Every call the client makes takes a [`Credentials`] value, because with several accounts
//! (design.md §12) they differ from call to call: the account the conversation lives on,
//! its token of the moment, the anti-bot values shared by all. Values are checked once, when
//! built, so a malformed cookie string fails with a message naming where it came from and
//! never quoting it; they are marked sensitive, so `http`'s `Debug` output hides them, and
//! this type's own `Debug` shows nothing but which parts are present.

use reqwest::RequestBuilder;
use reqwest::header::{AUTHORIZATION, COOKIE, HeaderValue};

use super::QwenError;
use super::jwt::token_from_cookies;

/// The secret headers of one upstream call. Cheap to clone.
#[derive(Clone, Default)]
pub struct Credentials {
    cookie: Option<HeaderValue>,
    authorization: Option<HeaderValue>,
    umid: Option<HeaderValue>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("cookie", &self.cookie.as_ref().map(|_| "<redacted>"))
            .field("bearer", &self.authorization.as_ref().map(|_| "<redacted>"))
            .field("umid", &self.umid.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl Credentials {
    /// A browser's pasted `Cookie` header (`QWEN_COOKIES`): sent as is, and its `token=`
    /// JWT as the bearer token.
    pub fn pasted(cookies: &str, umid: Option<&str>) -> Result<Credentials, QwenError> {
        Ok(Credentials {
            cookie: header(cookies, "cookie string (QWEN_COOKIES)")?,
            authorization: token_from_cookies(cookies)
                .map(|token| header(&format!("Bearer {token}"), "cookie token"))
                .transpose()?
                .flatten(),
            umid: umid
                .map(|u| header(u, "umid token (QWEN_TOKEN)"))
                .transpose()?
                .flatten(),
        })
    }

    /// A token obtained by logging in, sent as the bearer and as the `token=` cookie in
    /// front of the extra browser cookies shared by every account.
    pub fn token(
        jwt: &str,
        extra_cookies: &str,
        umid: Option<&str>,
    ) -> Result<Credentials, QwenError> {
        let jwt = jwt.trim();
        let extra = extra_cookies.trim().trim_matches(';').trim();
        let cookie = if extra.is_empty() {
            format!("token={jwt}")
        } else {
            format!("token={jwt}; {extra}")
        };
        Ok(Credentials {
            cookie: header(&cookie, "token or the extra cookies (QWEN_COOKIES)")?,
            authorization: header(&format!("Bearer {jwt}"), "login token")?,
            umid: umid
                .map(|u| header(u, "bx-umidtoken"))
                .transpose()?
                .flatten(),
        })
    }

    /// No account: only the browser cookies and the umid token shared by every account
    /// (for the sign-in itself and the model list, which the upstream serves anonymously).
    pub fn anonymous(extra_cookies: &str, umid: Option<&str>) -> Result<Credentials, QwenError> {
        Ok(Credentials {
            cookie: header(extra_cookies, "extra cookies (QWEN_COOKIES)")?,
            authorization: None,
            umid: umid
                .map(|u| header(u, "bx-umidtoken"))
                .transpose()?
                .flatten(),
        })
    }

    /// Whether a bearer token is sent.
    pub fn has_token(&self) -> bool {
        self.authorization.is_some()
    }

    /// The request with these headers.
    pub(crate) fn apply(&self, mut builder: RequestBuilder) -> RequestBuilder {
        for (name, value) in [
            (COOKIE.as_str(), &self.cookie),
            (AUTHORIZATION.as_str(), &self.authorization),
            ("bx-umidtoken", &self.umid),
        ] {
            if let Some(value) = value {
                builder = builder.header(name, value.clone());
            }
        }
        builder
    }
}

/// A sensitive header value; `None` for a blank one. `what` names the value's source in the
/// error, which never quotes the value.
fn header(value: &str, what: &str) -> Result<Option<HeaderValue>, QwenError> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    let mut header = HeaderValue::from_str(value).map_err(|_| {
        QwenError::Protocol(format!(
            "the configured {what} is not a valid HTTP header value"
        ))
    })?;
    header.set_sensitive(true);
    Ok(Some(header))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_login_token_goes_first_among_the_shared_cookies() {
        let creds = Credentials::token("eyJ.a.b", "cna=x; ssxmod_itna=1-y;", Some("T2gA")).unwrap();
        assert_eq!(
            creds.cookie.as_ref().unwrap().to_str().unwrap(),
            "token=eyJ.a.b; cna=x; ssxmod_itna=1-y"
        );
        assert_eq!(
            creds.authorization.as_ref().unwrap().to_str().unwrap(),
            "Bearer eyJ.a.b"
        );
        assert!(creds.has_token());
        let alone = Credentials::token("eyJ.a.b", "", None).unwrap();
        assert_eq!(alone.cookie.unwrap().to_str().unwrap(), "token=eyJ.a.b");
        assert!(alone.umid.is_none());
    }

    #[test]
    fn pasted_cookies_carry_their_token_and_debug_shows_none_of_it() {
        let creds = Credentials::pasted("cna=x; token=\"eyJ.p.q\"", Some("umid-secret")).unwrap();
        assert_eq!(
            creds.authorization.as_ref().unwrap().to_str().unwrap(),
            "Bearer eyJ.p.q"
        );
        let debug = format!("{creds:?}");
        assert!(
            !debug.contains("eyJ") && !debug.contains("umid-secret"),
            "{debug}"
        );
        let anonymous = Credentials::anonymous("cna=x", None).unwrap();
        assert!(!anonymous.has_token());
        let err = Credentials::pasted("token=a\nb", None).unwrap_err();
        assert!(err.to_string().contains("QWEN_COOKIES"), "{err}");
        assert!(!err.to_string().contains("token=a"), "{err}");
    }
}
