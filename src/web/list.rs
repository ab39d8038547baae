//! The reusable list page: filters from the query string, sortable columns
//! from a whitelist, pagination links that keep the filters.

use std::collections::BTreeMap;

use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use weiops_core::paging::{PAGE_SIZES, PageInfo, PageRequest};

use super::url_encode;

/// The query string of a list page, kept whole so links can change one
/// parameter (page, sort) and keep the rest.
#[derive(Debug, Clone, Default)]
pub struct ListParams {
    pub path: String,
    pairs: BTreeMap<String, String>,
}

impl<S: Send + Sync> FromRequestParts<S> for ListParams {
    type Rejection = crate::Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> crate::Result<Self> {
        let Query(pairs) = Query::<BTreeMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(|_| crate::Error::BadRequest("error.bad_query"))?;
        Ok(ListParams {
            path: parts.uri.path().to_string(),
            pairs,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    Asc,
    Desc,
}

/// A column header that sorts the list when clicked.
#[derive(Debug, Clone)]
pub struct SortHeader {
    pub label: String,
    pub href: String,
    /// `asc`, `desc`, or empty when the list is not sorted by this column.
    pub state: &'static str,
}

/// Pagination links, ready for the `pager` macro.
#[derive(Debug, Clone)]
pub struct Pager {
    pub info: PageInfo,
    pub prev: Option<String>,
    pub next: Option<String>,
    /// `(number, link, current)`; `None` is a gap.
    pub pages: Vec<Option<(i64, String, bool)>>,
    pub sizes: Vec<(i64, String, bool)>,
}

impl ListParams {
    pub fn from_pairs(path: &str, pairs: &[(&str, &str)]) -> ListParams {
        ListParams {
            path: path.to_string(),
            pairs: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    /// A filter value, trimmed; empty counts as absent.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .get(key)
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
    }

    /// The value for a form field (empty string when absent).
    pub fn value(&self, key: &str) -> String {
        self.get(key).unwrap_or("").to_string()
    }

    pub fn get_i64(&self, key: &str) -> Option<i64> {
        self.get(key).and_then(|s| s.parse().ok())
    }

    pub fn page(&self) -> PageRequest {
        PageRequest::new(self.get_i64("page"), self.get_i64("per_page"))
    }

    /// The ORDER BY for the requested sort, if `allowed` lists it; the
    /// default otherwise. `allowed` maps the public key to a SQL expression,
    /// so nothing the user types reaches the SQL.
    pub fn order_by(&self, allowed: &[(&str, &str)], default: &str) -> String {
        match (self.get("sort"), allowed) {
            (Some(key), _) => match allowed.iter().find(|(k, _)| *k == key) {
                Some((_, sql)) => {
                    let dir = if self.dir() == Dir::Desc {
                        "DESC"
                    } else {
                        "ASC"
                    };
                    format!("{sql} {dir}")
                }
                None => default.to_string(),
            },
            _ => default.to_string(),
        }
    }

    pub fn dir(&self) -> Dir {
        if self.get("dir") == Some("desc") {
            Dir::Desc
        } else {
            Dir::Asc
        }
    }

    /// This page's URL with some parameters replaced (an empty value removes
    /// the parameter).
    pub fn href_with(&self, changes: &[(&str, &str)]) -> String {
        let mut pairs = self.pairs.clone();
        for (k, v) in changes {
            if v.is_empty() {
                pairs.remove(*k);
            } else {
                pairs.insert(k.to_string(), v.to_string());
            }
        }
        let query: Vec<String> = pairs
            .iter()
            .filter(|(_, v)| !v.trim().is_empty())
            .map(|(k, v)| format!("{}={}", url_encode(k), url_encode(v)))
            .collect();
        if query.is_empty() {
            self.path.clone()
        } else {
            format!("{}?{}", self.path, query.join("&"))
        }
    }

    /// The export link for this list with the same filters.
    pub fn export_href(&self, export_path: &str, format: &str) -> String {
        let mut me = self.clone();
        me.path = export_path.to_string();
        me.href_with(&[("format", format), ("page", ""), ("per_page", "")])
    }

    pub fn sort_header(&self, key: &str, label: String) -> SortHeader {
        let current = self.get("sort") == Some(key);
        let (state, next_dir) = match (current, self.dir()) {
            (true, Dir::Asc) => ("asc", "desc"),
            (true, Dir::Desc) => ("desc", "asc"),
            (false, _) => ("", "asc"),
        };
        SortHeader {
            label,
            href: self.href_with(&[("sort", key), ("dir", next_dir), ("page", "")]),
            state,
        }
    }

    pub fn pager(&self, info: PageInfo) -> Pager {
        let link = |p: i64| self.href_with(&[("page", &p.to_string())]);
        Pager {
            prev: info.has_prev().then(|| link(info.page - 1)),
            next: info.has_next().then(|| link(info.page + 1)),
            pages: info
                .window()
                .into_iter()
                .map(|p| p.map(|n| (n, link(n), n == info.page)))
                .collect(),
            sizes: PAGE_SIZES
                .iter()
                .map(|s| {
                    (
                        *s,
                        self.href_with(&[("per_page", &s.to_string()), ("page", "")]),
                        *s == info.per_page,
                    )
                })
                .collect(),
            info,
        }
    }

    /// Whether any filter (anything but paging and sorting) is set: an empty
    /// list then says "nothing matches" rather than "nothing yet".
    pub fn is_filtered(&self) -> bool {
        self.pairs.iter().any(|(k, v)| {
            !matches!(k.as_str(), "page" | "per_page" | "sort" | "dir") && !v.trim().is_empty()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_keep_filters_and_reset_page_on_sort() {
        let l = ListParams::from_pairs("/users", &[("q", "李"), ("page", "3")]);
        assert_eq!(l.href_with(&[("page", "4")]), "/users?page=4&q=%E6%9D%8E");
        let h = l.sort_header("name", "Name".into());
        assert_eq!(h.href, "/users?dir=asc&q=%E6%9D%8E&sort=name");
        assert_eq!(h.state, "");
        assert!(l.is_filtered());
    }

    #[test]
    fn order_by_only_from_whitelist() {
        let allowed = [("name", "u.display_name"), ("created", "u.created_at")];
        let l = ListParams::from_pairs("/u", &[("sort", "created"), ("dir", "desc")]);
        assert_eq!(l.order_by(&allowed, "u.id DESC"), "u.created_at DESC");
        let evil = ListParams::from_pairs("/u", &[("sort", "1; DROP TABLE users")]);
        assert_eq!(evil.order_by(&allowed, "u.id DESC"), "u.id DESC");
    }

    #[test]
    fn pager_links() {
        let l = ListParams::from_pairs("/audit", &[]);
        let p = l.pager(PageInfo {
            page: 2,
            per_page: 20,
            total: 45,
            capped: false,
        });
        assert_eq!(p.prev.as_deref(), Some("/audit?page=1"));
        assert_eq!(p.next.as_deref(), Some("/audit?page=3"));
        assert_eq!(p.pages.len(), 3);
    }
}
