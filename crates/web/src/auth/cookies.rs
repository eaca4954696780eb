//! Reading and writing the two cookies: `steward_session` (the session id) and
//! `steward_login_csrf` (the login form's double-submit CSRF token).

use axum::http::{HeaderMap, HeaderValue, header};

/// The session cookie.
pub const SESSION_COOKIE: &str = "steward_session";
/// The login form's CSRF cookie.
pub const LOGIN_CSRF_COOKIE: &str = "steward_login_csrf";

/// The value of cookie `name`, if the request has it.
pub fn get_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_owned())
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Lax, Path=/, Secure when `secure`.
/// `max_age` of `Some(0)` deletes the cookie; `None` makes it a browser-session cookie.
pub fn set_cookie(name: &str, value: &str, max_age: Option<i64>, secure: bool) -> HeaderValue {
    let mut c = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax");
    if let Some(age) = max_age {
        c.push_str(&format!("; Max-Age={age}"));
    }
    if secure {
        c.push_str("; Secure");
    }
    // The values are base64url tokens, so this never fails; an empty header would only
    // fail to set the cookie.
    HeaderValue::from_str(&c).unwrap_or_else(|_| HeaderValue::from_static(""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_builds() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; steward_session=xyz"),
        );
        assert_eq!(get_cookie(&h, SESSION_COOKIE).as_deref(), Some("xyz"));
        assert_eq!(get_cookie(&h, "b"), None);
        let c = set_cookie(SESSION_COOKIE, "v", Some(60), true);
        let c = c.to_str().expect("ascii");
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Lax") && c.contains("Secure"));
        assert!(c.contains("Path=/"));
    }
}
