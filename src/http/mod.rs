//! HTTP plumbing below the domains: the middleware every request passes
//! through (CSRF, security headers, error pages, locale, flash cookies).
//! The routes themselves are assembled in `crate::app`.

pub mod middleware;
