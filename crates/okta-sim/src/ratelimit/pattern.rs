//! Path patterns shared by rate-limit buckets and injected faults: literal segments, `*` for
//! exactly one segment, and a trailing `/**` for any rest (zero or more segments, so
//! `/api/v1/apps/**` also matches `/api/v1/apps`, as Okta's `/api/v1/apps` bucket covers both
//! the list and everything below it, reference 7).
//!
//! Matching walks the path's segments without allocating. Empty segments (a doubled or
//! trailing `/`) are ignored.

/// One segment of a pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Seg {
    /// Must equal the path segment.
    Literal(String),
    /// Any single segment.
    One,
}

/// A compiled path pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathPattern {
    segs: Vec<Seg>,
    rest: bool,
}

impl PathPattern {
    /// Compiles `pattern`, which must start with `/`. `**` is only allowed as the last segment.
    pub fn parse(pattern: &str) -> Result<Self, String> {
        if !pattern.starts_with('/') {
            return Err(format!("path pattern `{pattern}` must start with `/`"));
        }
        let parts: Vec<&str> = pattern.split('/').filter(|s| !s.is_empty()).collect();
        let mut segs = Vec::with_capacity(parts.len());
        let mut rest = false;
        for (i, p) in parts.iter().enumerate() {
            match *p {
                "**" if i + 1 == parts.len() => rest = true,
                "**" => return Err(format!("`**` must be the last segment of `{pattern}`")),
                "*" => segs.push(Seg::One),
                lit => segs.push(Seg::Literal(lit.to_string())),
            }
        }
        Ok(Self { segs, rest })
    }

    /// Whether `path` (no query string) matches.
    pub fn matches(&self, path: &str) -> bool {
        let mut it = path.split('/').filter(|s| !s.is_empty());
        for seg in &self.segs {
            match (seg, it.next()) {
                (_, None) => return false,
                (Seg::One, Some(_)) => {}
                (Seg::Literal(l), Some(s)) if l == s => {}
                (Seg::Literal(_), Some(_)) => return false,
            }
        }
        self.rest || it.next().is_none()
    }
}

/// Whether `method` is one of `methods` (an empty list means every method).
pub fn method_matches(methods: &[String], method: &str) -> bool {
    methods.is_empty() || methods.iter().any(|m| m.eq_ignore_ascii_case(method))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> PathPattern {
        PathPattern::parse(s).expect("valid pattern")
    }

    #[test]
    fn literal_star_and_rest() {
        assert!(p("/api/v1/users").matches("/api/v1/users"));
        assert!(!p("/api/v1/users").matches("/api/v1/users/00u1"));
        assert!(p("/api/v1/users/*").matches("/api/v1/users/00u1"));
        assert!(!p("/api/v1/users/*").matches("/api/v1/users"));
        assert!(!p("/api/v1/users/*").matches("/api/v1/users/00u1/groups"));
        assert!(p("/api/v1/apps/**").matches("/api/v1/apps"));
        assert!(p("/api/v1/apps/**").matches("/api/v1/apps/0oa1/users"));
        assert!(!p("/api/v1/apps/**").matches("/api/v1/appsx"));
        assert!(p("/api/v1/users").matches("/api/v1/users/"));
        assert!(PathPattern::parse("api").is_err());
        assert!(PathPattern::parse("/a/**/b").is_err());
    }

    #[test]
    fn methods() {
        assert!(method_matches(&[], "GET"));
        assert!(method_matches(&["get".into()], "GET"));
        assert!(!method_matches(&["POST".into()], "GET"));
    }
}
