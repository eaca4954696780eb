//! Query parameters, page sizes, opaque cursors and `Link` headers shared by every list
//! endpoint (reference 5.1).
//!
//! - Cursors are opaque: base64url of `kind:key`, where `key` is the id of the last object of the
//!   page (or a log position, see `logs`). The `kind` ties a cursor to its endpoint, so a cursor
//!   from `/users` is refused by `/groups`. A cursor the simulator did not issue is refused with
//!   400 `E0000001` (reference 5.1 "follow `next` verbatim; don't build cursors yourself"; what
//!   Okta does with a forged cursor is [unconfirmed], the simulator takes the strict reading).
//! - `Link` headers: `self` always, `next` while more remain, one header per relation, absolute
//!   URLs on the simulator's base URL that keep the caller's query parameters.

use crate::error::ApiError;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

/// The parsed query string of a request, with the raw form kept for `Link` headers.
#[derive(Debug, Default)]
pub struct Query {
    raw: String,
    pairs: Vec<(String, String)>,
}

impl Query {
    /// Parses a raw (still percent-encoded) query string.
    pub fn parse(raw: Option<&str>) -> Self {
        let raw = raw.unwrap_or_default().to_string();
        let pairs = url::form_urlencoded::parse(raw.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        Self { raw, pairs }
    }
    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    /// The first value of `name`, ignoring an empty value (`?q=` counts as absent).
    pub fn non_empty(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|v| !v.is_empty())
    }
    /// The raw query string.
    pub fn raw(&self) -> &str {
        &self.raw
    }
}

/// Page-size rules of an endpoint (reference 5.2).
#[derive(Clone, Copy, Debug)]
pub struct LimitRule {
    /// Used when `limit` is absent.
    pub default: usize,
    /// Smaller values are raised to this (e.g. 20 for `/apps/{id}/groups`, whose spec says
    /// `minimum: 20`).
    pub min: usize,
    /// Larger values are lowered to this.
    pub max: usize,
    /// Whether `limit=0` is accepted (only `/api/v1/logs`: "Integer between 0 and 1000").
    pub allow_zero: bool,
}

impl LimitRule {
    /// A rule with `min` 1 and no zero.
    pub const fn new(default: usize, max: usize) -> Self {
        Self {
            default,
            min: 1,
            max,
            allow_zero: false,
        }
    }
}

/// Reads `limit` under `rule`.
///
/// - Beyond the maximum: clamped to the maximum. Okta documents maximums but not the answer to
///   exceeding them; the widely reported behaviour is a silently shorter page (e.g. 200 users for
///   `limit=1000`), and clamping also exercises clients that must not assume `len == limit`.
/// - Not a number, negative, or zero where not allowed: 400 `E0000001` (the strict reading;
///   Okta's answer is [unconfirmed]).
pub fn limit(q: &Query, rule: LimitRule) -> Result<usize, ApiError> {
    let Some(raw) = q.get("limit") else {
        return Ok(rule.default);
    };
    let invalid = || {
        ApiError::validation(
            "'limit': must be a positive integer.",
            Some(format!(
                "limit: The value '{raw}' is not a valid page size."
            )),
        )
    };
    let n: i64 = raw.trim().parse().map_err(|_| invalid())?;
    if n < 0 || (n == 0 && !rule.allow_zero) {
        return Err(invalid());
    }
    let n = usize::try_from(n).unwrap_or(usize::MAX);
    if n == 0 {
        return Ok(0);
    }
    Ok(n.clamp(rule.min, rule.max))
}

/// An opaque cursor for `kind` around `key`.
pub fn encode_cursor(kind: &str, key: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{kind}:{key}"))
}

/// The key inside a cursor of `kind`, or 400 `E0000001` when it is not one the simulator issued
/// for this endpoint.
pub fn decode_cursor(raw: &str, kind: &str) -> Result<String, ApiError> {
    URL_SAFE_NO_PAD
        .decode(raw.trim_end_matches('='))
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| {
            s.strip_prefix(kind)
                .and_then(|r| r.strip_prefix(':'))
                .map(str::to_string)
        })
        .ok_or_else(invalid_cursor)
}

/// 400 `E0000001` for an `after` value that is not a cursor of this endpoint.
pub fn invalid_cursor() -> ApiError {
    ApiError::validation(
        "'after': The cursor is not valid.",
        Some("after: Use the cursor from the next link relation.".into()),
    )
}

/// `{base}{path}` plus the raw query, as the request was made (the `self` relation).
pub fn self_url(base: &str, path: &str, q: &Query) -> String {
    if q.raw().is_empty() {
        format!("{base}{path}")
    } else {
        format!("{base}{path}?{}", q.raw())
    }
}

/// The `next` URL: the caller's query without `after` and the parameters in `drop`, then
/// `after={cursor}`. Parameters keep their original encoding and order.
pub fn next_url(base: &str, path: &str, q: &Query, cursor: &str, drop: &[&str]) -> String {
    let mut parts: Vec<&str> = q
        .raw()
        .split('&')
        .filter(|p| !p.is_empty())
        .filter(|p| {
            let name = p.split('=').next().unwrap_or_default();
            name != "after" && !drop.contains(&name)
        })
        .collect();
    let after = format!("after={cursor}");
    parts.push(&after);
    format!("{base}{path}?{}", parts.join("&"))
}

/// A JSON array response with a `self` link and, when given, a `next` link.
pub fn list_response(items: Vec<Value>, self_link: &str, next_link: Option<&str>) -> Response {
    let mut resp = axum::Json(Value::Array(items)).into_response();
    let h = resp.headers_mut();
    for (url, rel) in [(Some(self_link), "self"), (next_link, "next")] {
        if let Some(v) =
            url.and_then(|u| HeaderValue::from_str(&format!("<{u}>; rel=\"{rel}\"")).ok())
        {
            h.append(header::LINK, v);
        }
    }
    resp
}

/// One cursor-paged list request: where the caller's URL is and which cursor kind the
/// endpoint issues. Every list handler reads its `after` and builds its response through
/// this, so the `self`/`next` links and cursor rules are the same everywhere.
#[derive(Clone, Copy, Debug)]
pub struct Pager<'a> {
    base: &'a str,
    path: &'a str,
    q: &'a Query,
    kind: &'static str,
}

impl<'a> Pager<'a> {
    /// A pager for `path` on `base`, issuing cursors of `kind`.
    pub fn new(base: &'a str, path: &'a str, q: &'a Query, kind: &'static str) -> Self {
        Self {
            base,
            path,
            q,
            kind,
        }
    }

    /// The position after which the page starts: `None` without `after`; otherwise the
    /// cursor's key resolved by `lookup`, and 400 `E0000001` when the cursor is not this
    /// endpoint's or `lookup` does not know its key.
    pub fn after<T>(&self, lookup: impl FnOnce(&str) -> Option<T>) -> Result<Option<T>, ApiError> {
        let Some(raw) = self.q.non_empty("after") else {
            return Ok(None);
        };
        let key = decode_cursor(raw, self.kind)?;
        lookup(&key).map(Some).ok_or_else(invalid_cursor)
    }

    /// The list response: `items`, a `self` link, and a `next` link after `next_key` when
    /// given (see [`next_key`]).
    pub fn respond(&self, items: Vec<Value>, next_key: Option<String>) -> Response {
        self.respond_dropping(items, next_key, &[])
    }

    /// [`Pager::respond`], leaving the parameters in `drop` out of the `next` link.
    pub fn respond_dropping(
        &self,
        items: Vec<Value>,
        next_key: Option<String>,
        drop: &[&str],
    ) -> Response {
        let next = next_key.map(|key| {
            next_url(
                self.base,
                self.path,
                self.q,
                &encode_cursor(self.kind, &key),
                drop,
            )
        });
        list_response(
            items,
            &self_url(self.base, self.path, self.q),
            next.as_deref(),
        )
    }
}

/// The cursor key of a page's last item when more items remain.
pub fn next_key<T>(page: &[T], more: bool, key: impl FnOnce(&T) -> String) -> Option<String> {
    more.then(|| page.last()).flatten().map(key)
}

/// Takes up to `limit` items and reports whether at least one more exists.
pub fn take_page<T>(iter: impl Iterator<Item = T>, limit: usize) -> (Vec<T>, bool) {
    let mut out = Vec::with_capacity(limit.min(1024));
    let mut more = false;
    for item in iter {
        if out.len() == limit {
            more = true;
            break;
        }
        out.push(item);
    }
    (out, more)
}

/// An item of a sorted search: `(sort key, id, payload)`.
pub type Sorted<T> = (String, String, T);

/// One page of a search sorted by `sortBy`: `items` are `(sort key, id, payload)`; ties are
/// ordered by id (Okta: "Users with the same value for the `sortBy` property are ordered by
/// `id`"). The cursor of such a page is [`sorted_cursor`] of its last item.
pub fn sorted_page<T>(
    mut items: Vec<Sorted<T>>,
    desc: bool,
    after: Option<&str>,
    limit: usize,
) -> Result<(Vec<Sorted<T>>, bool), ApiError> {
    items.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    if desc {
        items.reverse();
    }
    let start = match after {
        None => 0,
        Some(c) => {
            let (key, id) = c.rsplit_once('\u{1f}').ok_or_else(invalid_cursor)?;
            let pos = (key, id);
            items.partition_point(|(k, i, _)| {
                let cur = (k.as_str(), i.as_str());
                if desc { cur >= pos } else { cur <= pos }
            })
        }
    };
    let more = items.len() > start + limit;
    let page = items.into_iter().skip(start).take(limit).collect();
    Ok((page, more))
}

/// The cursor key of a sorted-search item.
pub fn sorted_cursor(key: &str, id: &str) -> String {
    format!("{key}\u{1f}{id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_is_bound_to_its_kind() {
        let c = encode_cursor("u", "00u1");
        assert!(!c.contains("00u1"));
        assert_eq!(decode_cursor(&c, "u").ok().as_deref(), Some("00u1"));
        assert!(decode_cursor(&c, "g").is_err());
        assert!(decode_cursor("not a cursor!", "u").is_err());
    }

    #[test]
    fn limits() {
        let rule = LimitRule::new(200, 200);
        let l = |s: &str| limit(&Query::parse(Some(s)), rule).ok();
        assert_eq!(l(""), Some(200));
        assert_eq!(l("limit=5"), Some(5));
        assert_eq!(l("limit=5000"), Some(200));
        assert_eq!(l("limit=0"), None);
        assert_eq!(l("limit=-1"), None);
        assert_eq!(l("limit=abc"), None);
    }

    #[test]
    fn next_keeps_params_and_replaces_after() {
        let q = Query::parse(Some(
            "limit=2&after=x&filter=status%20eq%20%22ACTIVE%22&since=s",
        ));
        let n = next_url("http://h", "/api/v1/users", &q, "CUR", &["since"]);
        assert_eq!(
            n,
            "http://h/api/v1/users?limit=2&filter=status%20eq%20%22ACTIVE%22&after=CUR"
        );
    }
}
