//! Cross-site request forgery: may this request change state?
//!
//! Browsers tell where a request comes from (`Sec-Fetch-Site`, `Origin`).
//! A state-changing request is accepted only from our own origin. Requests
//! authenticated by a bearer token and carrying no cookie are not exposed to
//! CSRF (a browser never attaches a bearer token by itself), so they pass.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CsrfVerdict {
    Allow,
    Reject,
}

pub struct RequestOrigin<'a> {
    pub method_is_safe: bool,
    pub has_cookie: bool,
    pub has_bearer: bool,
    pub sec_fetch_site: Option<&'a str>,
    /// The `Origin` header, e.g. `http://127.0.0.1:8080`.
    pub origin: Option<&'a str>,
    /// The `Host` header, e.g. `127.0.0.1:8080`.
    pub host: Option<&'a str>,
}

pub fn judge(req: &RequestOrigin<'_>) -> CsrfVerdict {
    if req.method_is_safe || (req.has_bearer && !req.has_cookie) {
        return CsrfVerdict::Allow;
    }
    if let Some(site) = req.sec_fetch_site {
        return match site {
            "same-origin" | "none" => CsrfVerdict::Allow,
            _ => CsrfVerdict::Reject,
        };
    }
    match (req.origin, req.host) {
        (Some(origin), Some(host)) => {
            let origin_host = origin.split_once("://").map(|(_, rest)| rest).unwrap_or("");
            if !origin_host.is_empty() && origin_host.eq_ignore_ascii_case(host) {
                CsrfVerdict::Allow
            } else {
                CsrfVerdict::Reject
            }
        }
        // Neither header: not a current browser. Without a cookie nothing
        // ambient is at stake (e.g. a first login from a script); with one we refuse.
        _ if !req.has_cookie => CsrfVerdict::Allow,
        _ => CsrfVerdict::Reject,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req<'a>() -> RequestOrigin<'a> {
        RequestOrigin {
            method_is_safe: false,
            has_cookie: true,
            has_bearer: false,
            sec_fetch_site: None,
            origin: None,
            host: Some("shop.example:8080"),
        }
    }

    #[test]
    fn safe_methods_and_bearer_only_requests_pass() {
        assert_eq!(
            judge(&RequestOrigin {
                method_is_safe: true,
                ..req()
            }),
            CsrfVerdict::Allow
        );
        assert_eq!(
            judge(&RequestOrigin {
                has_bearer: true,
                has_cookie: false,
                ..req()
            }),
            CsrfVerdict::Allow
        );
        assert_eq!(
            judge(&RequestOrigin {
                has_bearer: true,
                ..req()
            }),
            CsrfVerdict::Reject
        );
    }

    #[test]
    fn fetch_metadata_decides_when_present() {
        for (site, verdict) in [
            ("same-origin", CsrfVerdict::Allow),
            ("none", CsrfVerdict::Allow),
            ("same-site", CsrfVerdict::Reject),
            ("cross-site", CsrfVerdict::Reject),
        ] {
            assert_eq!(
                judge(&RequestOrigin {
                    sec_fetch_site: Some(site),
                    ..req()
                }),
                verdict,
                "{site}"
            );
        }
    }

    #[test]
    fn origin_must_match_host() {
        let ok = RequestOrigin {
            origin: Some("http://shop.example:8080"),
            ..req()
        };
        let evil = RequestOrigin {
            origin: Some("http://evil.example"),
            ..req()
        };
        let null = RequestOrigin {
            origin: Some("null"),
            ..req()
        };
        assert_eq!(judge(&ok), CsrfVerdict::Allow);
        assert_eq!(judge(&evil), CsrfVerdict::Reject);
        assert_eq!(judge(&null), CsrfVerdict::Reject);
    }

    #[test]
    fn no_headers_with_cookie_is_refused() {
        assert_eq!(judge(&req()), CsrfVerdict::Reject);
        assert_eq!(
            judge(&RequestOrigin {
                has_cookie: false,
                ..req()
            }),
            CsrfVerdict::Allow
        );
    }
}
