//! Cursor pagination through `Link: <…>; rel="next"` (reference 5.1).

use futures::stream::{self, Stream, StreamExt, TryStreamExt};
use reqwest::Method;
use reqwest::header::{HeaderMap, LINK};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::client::OktaClient;
use crate::error::OktaError;

/// The `rel="next"` target among the `Link` headers (RFC 8288), verbatim.
pub fn next_link(headers: &HeaderMap) -> Option<String> {
    for value in headers.get_all(LINK) {
        let Ok(v) = value.to_str() else { continue };
        // One header may hold several comma-separated links; '<' cannot occur
        // unescaped inside a URI, so it delimits them.
        let mut rest = v;
        while let Some(open) = rest.find('<') {
            let Some(close) = rest[open..].find('>').map(|c| open + c) else {
                break;
            };
            let target = &rest[open + 1..close];
            let after = &rest[close + 1..];
            let params = &after[..after.find('<').unwrap_or(after.len())];
            let is_next = params.split([';', ',']).any(|p| {
                let p = p.trim().to_ascii_lowercase();
                p == "rel=\"next\"" || p == "rel=next"
            });
            if is_next {
                return Some(target.trim().to_owned());
            }
            rest = after;
        }
    }
    None
}

/// One page: its items and the next link.
#[derive(Debug)]
pub struct Page {
    /// The JSON array elements.
    pub items: Vec<Value>,
    /// The `next` link, verbatim, if any.
    pub next: Option<String>,
}

impl OktaClient {
    /// Fetches one page at `path_or_url` (same origin only).
    pub async fn get_page(&self, path_or_url: &str) -> Result<Page, OktaError> {
        let url = self.resolve(path_or_url)?;
        let resp = self.request_url(Method::GET, url, None).await?;
        let next = next_link(&resp.headers);
        let items = match resp.json::<Value>()? {
            Value::Array(items) => items,
            _ => {
                return Err(OktaError::invalid(
                    resp.status,
                    "expected a JSON array",
                    Some(&resp.body),
                ));
            }
        };
        if let Some(n) = &next {
            // Refuse a next link to another host before anyone follows it.
            self.resolve(n)?;
        }
        Ok(Page { items, next })
    }

    /// Every item of a list endpoint, following `next` links until there is
    /// none. A final empty page with a `next` link ends the stream too.
    pub fn paginate(&self, path: &str) -> impl Stream<Item = Result<Value, OktaError>> + '_ {
        stream::try_unfold(Some(path.to_owned()), move |next| async move {
            let Some(url) = next else {
                return Ok::<_, OktaError>(None);
            };
            let page = self.get_page(&url).await?;
            let next = if page.items.is_empty() {
                None
            } else {
                page.next
            };
            Ok(Some((stream::iter(page.items.into_iter().map(Ok)), next)))
        })
        .try_flatten()
    }

    /// [`OktaClient::paginate`] deserialized into `T`.
    pub fn paginate_as<T: DeserializeOwned + 'static>(
        &self,
        path: &str,
    ) -> impl Stream<Item = Result<T, OktaError>> + '_ {
        self.paginate(path).map(|item| {
            item.and_then(|v| {
                serde_json::from_value(v).map_err(|e| OktaError::InvalidResponse {
                    status: 200,
                    reason: format!("unexpected item shape: {e}"),
                    body: None,
                })
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn finds_next() {
        let mut h = HeaderMap::new();
        h.append(
            LINK,
            HeaderValue::from_static("<https://a.okta.com/api/v1/users?limit=2>; rel=\"self\""),
        );
        h.append(
            LINK,
            HeaderValue::from_static(
                "<https://a.okta.com/api/v1/users?after=00u1&limit=2>; rel=\"next\"",
            ),
        );
        assert_eq!(
            next_link(&h).as_deref(),
            Some("https://a.okta.com/api/v1/users?after=00u1&limit=2")
        );
        let mut h = HeaderMap::new();
        h.append(
            LINK,
            HeaderValue::from_static(
                "<https://a/x?a=1>; rel=\"self\", <https://a/x?after=b>; rel=\"next\"",
            ),
        );
        assert_eq!(next_link(&h).as_deref(), Some("https://a/x?after=b"));
        let mut h = HeaderMap::new();
        h.append(
            LINK,
            HeaderValue::from_static("<https://a/x>; rel=\"self\""),
        );
        assert_eq!(next_link(&h), None);
    }
}
