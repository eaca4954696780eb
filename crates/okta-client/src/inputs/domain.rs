//! [`OktaDomain`]: the org domain as an admin pastes it (reference section 8).

use std::fmt;
use std::net::IpAddr;

use url::{Host, Url};

use super::{InputError, strip_quotes};

/// Host suffixes of Okta-hosted orgs (reference section 8). A host under one of
/// these is trusted as an Okta org; anything else is a custom domain.
const OKTA_SUFFIXES: [&str; 7] = [
    "okta.com",
    "oktapreview.com",
    "okta-emea.com",
    "okta-gov.com",
    "okta.mil",
    "okta-miltest.com",
    "trex-govcloud.com",
];

/// First path segments of Okta's own UI pages; a URL copied from the browser
/// with one of these paths is reduced to its host.
const UI_PATHS: [&str; 9] = [
    "app",
    "enduser",
    "admin",
    "home",
    "login",
    "signin",
    "user",
    "dashboard",
    "oauth2",
];

/// A validated Okta org domain, the base of every URL this crate calls.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct OktaDomain {
    https: bool,
    host: String,
    port: Option<u16>,
    needs_verification: bool,
    loopback: bool,
}

impl OktaDomain {
    /// Parses what an admin pasted: a host (`company.okta.com`) or a URL copied
    /// from the browser (`https://company.okta.com/app/UserHome`).
    ///
    /// With `allow_insecure_loopback` (simulator and tests only),
    /// `127.0.0.1:PORT`, `localhost:PORT` and `[::1]:PORT` are accepted over
    /// plain http (when no scheme is given) or https (`https://localhost:PORT`,
    /// for a TLS simulator with its own CA).
    pub fn parse(input: &str, allow_insecure_loopback: bool) -> Result<Self, InputError> {
        let s = strip_quotes(input);
        if s.is_empty() {
            return Err(InputError::Empty {
                field: super::Field::Domain,
            });
        }
        let lower = s.to_ascii_lowercase();
        if lower.contains("youroktadomain") || s.contains("${") || s.contains('{') {
            return Err(InputError::DomainPlaceholder);
        }
        let (scheme, rest) = match s.split_once("://") {
            Some((scheme, rest)) => (Some(scheme.to_ascii_lowercase()), rest),
            None => (None, s),
        };
        if let Some(sc) = &scheme
            && sc != "https"
            && sc != "http"
        {
            return Err(InputError::DomainScheme { scheme: sc.clone() });
        }
        let url = Url::parse(&format!(
            "{}://{rest}",
            scheme.as_deref().unwrap_or("https")
        ))
        .map_err(|e| InputError::DomainMalformed {
            reason: e.to_string(),
        })?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(InputError::DomainUserinfo);
        }
        let path = url.path();
        let host = match url.host() {
            Some(h) => h,
            None => {
                return Err(InputError::DomainMalformed {
                    reason: "no host".to_owned(),
                });
            }
        };
        let loopback = match &host {
            Host::Domain(d) => *d == "localhost" || d.ends_with(".localhost"),
            Host::Ipv4(ip) => ip.is_loopback(),
            Host::Ipv6(ip) => ip.is_loopback(),
        };
        let host_str = match &host {
            Host::Ipv6(ip) => format!("[{ip}]"),
            other => other.to_string(),
        };
        if loopback {
            if !allow_insecure_loopback {
                return Err(InputError::DomainLoopback { host: host_str });
            }
            if path != "/" && !path.is_empty() {
                return Err(InputError::DomainPath {
                    path: path.to_owned(),
                });
            }
            // No scheme on a loopback address means the plain-http simulator.
            let https = scheme.as_deref() == Some("https");
            return Ok(OktaDomain {
                https,
                host: host_str,
                port: url.port(),
                needs_verification: false,
                loopback: true,
            });
        }
        let domain = match host {
            Host::Domain(d) => d.trim_end_matches('.').to_owned(),
            Host::Ipv4(_) | Host::Ipv6(_) => return Err(InputError::DomainIpLiteral),
        };
        if domain.parse::<IpAddr>().is_ok() {
            return Err(InputError::DomainIpLiteral);
        }
        // A name whose last label is all digits is an IPv4 address in disguise to URL parsers
        // (`01.00.` becomes 0.1.0.0 once the trailing dot goes), and no real TLD is numeric
        // (RFC 3696 section 2). Refuse it rather than connect to an address.
        if domain
            .rsplit('.')
            .next()
            .is_some_and(|tld| !tld.is_empty() && tld.bytes().all(|b| b.is_ascii_digit()))
            || !matches!(
                Url::parse(&format!("https://{domain}/")).ok().as_ref().and_then(Url::host),
                Some(Host::Domain(d)) if d == domain
            )
        {
            return Err(InputError::DomainIpLiteral);
        }
        if scheme.as_deref() == Some("http") {
            return Err(InputError::DomainScheme {
                scheme: "http".to_owned(),
            });
        }
        if let Some(port) = url.port() {
            return Err(InputError::DomainPort { port });
        }
        let first_segment = path.trim_start_matches('/').split('/').next().unwrap_or("");
        if !first_segment.is_empty() && !UI_PATHS.contains(&first_segment) {
            return Err(InputError::DomainPath {
                path: path.to_owned(),
            });
        }
        let needs_verification = check_host(&domain)?;
        Ok(OktaDomain {
            https: true,
            host: domain,
            port: None,
            needs_verification,
            loopback: false,
        })
    }

    /// The host name, without port (`company.okta.com`).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// `host[:port]`: what to store and show (`company.okta.com`, `127.0.0.1:8080`).
    pub fn authority(&self) -> String {
        match self.port {
            Some(p) => format!("{}:{p}", self.host),
            None => self.host.clone(),
        }
    }

    /// `https://company.okta.com` (no trailing slash).
    pub fn base_url(&self) -> String {
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://{}", self.authority())
    }

    /// The org authorization server's token endpoint (reference 1.1). Also the
    /// exact `aud` of the client assertion (reference 1.2).
    pub fn token_url(&self) -> String {
        format!("{}/oauth2/v1/token", self.base_url())
    }

    /// `/.well-known/okta-organization`, used to confirm that a custom domain
    /// really fronts an Okta org.
    pub fn well_known_url(&self) -> String {
        format!("{}/.well-known/okta-organization", self.base_url())
    }

    /// `true` for a custom domain (not under an Okta-owned suffix): it must be
    /// verified through [`OktaDomain::well_known_url`] before use.
    pub fn needs_verification(&self) -> bool {
        self.needs_verification
    }

    /// `true` for a loopback simulator address.
    pub fn is_loopback(&self) -> bool {
        self.loopback
    }

    /// `true` unless this is a plain-http loopback simulator.
    pub fn is_https(&self) -> bool {
        self.https
    }
}

/// Checks a lower-case DNS host; returns `needs_verification`.
/// A DNS host name as RFC 1123 section 2.1 allows it (after IDNA, so letters, digits and
/// hyphens only): labels of 1 to 63 characters that neither start nor end with a hyphen,
/// 253 characters in all. URL parsers accept far more (`,`, `;`, empty labels…), none of
/// which can name an Okta org.
fn check_hostname_syntax(domain: &str) -> Result<(), InputError> {
    let bad = |reason: &str| InputError::DomainMalformed {
        reason: format!("`{domain}` is not a valid host name: {reason}"),
    };
    if domain.len() > 253 {
        return Err(bad("longer than 253 characters"));
    }
    for label in domain.split('.') {
        if label.is_empty() {
            return Err(bad("empty label (two dots in a row)"));
        }
        if label.len() > 63 {
            return Err(bad("a label is longer than 63 characters"));
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err(bad("only letters, digits, hyphens and dots are allowed"));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(bad("a label starts or ends with a hyphen"));
        }
    }
    Ok(())
}

fn check_host(domain: &str) -> Result<bool, InputError> {
    check_hostname_syntax(domain)?;
    if domain.contains("youroktadomain") {
        // The placeholder of Okta's docs, also after IDNA normalization.
        return Err(InputError::DomainPlaceholder);
    }
    if !domain.contains('.') {
        return Err(InputError::DomainNotAnOrg {
            host: domain.to_owned(),
            suggestion: Some(format!("{domain}.okta.com")),
        });
    }
    if domain.ends_with(".com.com") {
        return Err(InputError::DomainNotAnOrg {
            host: domain.to_owned(),
            suggestion: Some(domain.trim_end_matches(".com").to_owned()),
        });
    }
    for suffix in OKTA_SUFFIXES {
        if domain == suffix {
            return Err(InputError::DomainNotAnOrg {
                host: domain.to_owned(),
                suggestion: None,
            });
        }
        if let Some(sub) = domain
            .strip_suffix(suffix)
            .and_then(|d| d.strip_suffix('.'))
        {
            if sub.contains('.') {
                // `login.company.okta.com`, `x.customdomains.oktapreview.com`
                // (a CNAME target): not an org host.
                let last = sub.rsplit('.').next().unwrap_or(sub);
                return Err(InputError::DomainNotAnOrg {
                    host: domain.to_owned(),
                    suggestion: Some(format!("{last}.{suffix}")),
                });
            }
            if let Some(org) = sub.strip_suffix("-admin") {
                // The Admin Console host; the SDKs refuse it too (reference 8).
                return Err(InputError::DomainAdminHost {
                    host: domain.to_owned(),
                    suggestion: format!("{org}.{suffix}"),
                });
            }
            return Ok(false);
        }
    }
    Ok(true)
}

impl fmt::Display for OktaDomain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.authority())
    }
}

impl fmt::Debug for OktaDomain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OktaDomain({})", self.base_url())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> OktaDomain {
        match OktaDomain::parse(s, false) {
            Ok(d) => d,
            Err(e) => panic!("{s:?}: {e}"),
        }
    }

    #[test]
    fn normalizes_pasted_forms() {
        for s in [
            "company.okta.com",
            "https://company.okta.com/",
            "COMPANY.okta.com/app/UserHome",
            "  \"https://company.okta.com\"  ",
            "'company.okta.com'",
            "https://company.okta.com/enduser/catalog?x=1#frag",
            "company.okta.com.",
            "https://company.okta.com:443",
        ] {
            let d = ok(s);
            assert_eq!(d.host(), "company.okta.com", "{s}");
            assert_eq!(d.base_url(), "https://company.okta.com");
            assert_eq!(d.token_url(), "https://company.okta.com/oauth2/v1/token");
            assert!(!d.needs_verification());
        }
    }

    #[test]
    fn okta_cells_and_custom_domains() {
        for s in [
            "acme.oktapreview.com",
            "acme.okta-emea.com",
            "acme.okta-gov.com",
            "acme.okta.mil",
            "acme.okta-miltest.com",
            "acme.trex-govcloud.com",
        ] {
            assert!(!ok(s).needs_verification(), "{s}");
        }
        assert!(ok("login.example.com").needs_verification());
    }

    #[test]
    fn admin_host_suggests_org_host() {
        let e = OktaDomain::parse("https://company-admin.okta.com/admin/dashboard", false);
        assert!(matches!(
            e,
            Err(InputError::DomainAdminHost { ref suggestion, .. }) if suggestion == "company.okta.com"
        ));
    }

    #[test]
    fn loopback_only_when_allowed() {
        assert!(OktaDomain::parse("127.0.0.1:8080", false).is_err());
        let d = OktaDomain::parse("127.0.0.1:8080", true).expect("loopback");
        assert_eq!(d.base_url(), "http://127.0.0.1:8080");
        assert_eq!(d.authority(), "127.0.0.1:8080");
        let d = OktaDomain::parse("https://localhost:9443", true).expect("tls loopback");
        assert_eq!(d.token_url(), "https://localhost:9443/oauth2/v1/token");
        let d = OktaDomain::parse("http://[::1]:80", true).expect("v6");
        assert_eq!(d.base_url(), "http://[::1]");
    }
}
