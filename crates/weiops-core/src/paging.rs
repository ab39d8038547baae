//! Pagination of list pages and API lists.

pub const PAGE_SIZES: [i64; 4] = [10, 20, 50, 100];
pub const DEFAULT_PAGE_SIZE: i64 = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    /// 1-based.
    pub page: i64,
    pub per_page: i64,
}

impl PageRequest {
    /// Anything out of range falls back to a sane value rather than an error:
    /// a hand-edited `?page=-3` shows page 1.
    pub fn new(page: Option<i64>, per_page: Option<i64>) -> PageRequest {
        let per_page = per_page
            .filter(|p| (1..=500).contains(p))
            .unwrap_or(DEFAULT_PAGE_SIZE);
        let page = page.filter(|p| *p >= 1 && *p <= 1_000_000).unwrap_or(1);
        PageRequest { page, per_page }
    }

    pub fn offset(&self) -> i64 {
        (self.page - 1) * self.per_page
    }
}

/// What a page of results knows about its place in the whole list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageInfo {
    pub page: i64,
    pub per_page: i64,
    /// Rows in the list; when `capped`, a floor (at least this many).
    pub total: i64,
    /// Counting stopped early (lists of millions of rows count only so
    /// far past the page): more rows than `total` may follow, and the last
    /// page is unknown.
    pub capped: bool,
}

impl PageInfo {
    pub fn pages(&self) -> i64 {
        if self.total == 0 {
            1
        } else {
            (self.total + self.per_page - 1) / self.per_page
        }
    }

    pub fn has_prev(&self) -> bool {
        self.page > 1
    }

    pub fn has_next(&self) -> bool {
        self.page < self.pages()
    }

    /// Page numbers to show, with `None` for a gap: 1 … 4 5 [6] 7 8 … 20.
    pub fn window(&self) -> Vec<Option<i64>> {
        let last = self.pages();
        let mut out = Vec::new();
        let lo = (self.page - 2).max(1);
        let hi = (self.page + 2).min(last);
        if lo > 1 {
            out.push(Some(1));
            if lo > 2 {
                out.push(None);
            }
        }
        out.extend((lo..=hi).map(Some));
        if hi < last {
            if hi < last - 1 {
                out.push(None);
            }
            out.push(Some(last));
        }
        if self.capped {
            out.push(None);
        }
        out
    }

    /// `total` with thousands separators: `10,000`.
    pub fn total_text(&self) -> String {
        let digits = self.total.unsigned_abs().to_string();
        let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
        if self.total < 0 {
            out.push('-');
        }
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(c);
        }
        out
    }

    /// 1-based index of the first and last row on this page (0, 0 when empty).
    pub fn range(&self) -> (i64, i64) {
        if self.total == 0 {
            return (0, 0);
        }
        let first = (self.page - 1) * self.per_page + 1;
        (
            first.min(self.total),
            (first + self.per_page - 1).min(self.total),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_range_requests_fall_back() {
        assert_eq!(
            PageRequest::new(Some(-3), Some(0)),
            PageRequest {
                page: 1,
                per_page: 20
            }
        );
        assert_eq!(PageRequest::new(Some(2), Some(50)).offset(), 50);
    }

    #[test]
    fn window_with_gaps() {
        let info = PageInfo {
            page: 6,
            per_page: 10,
            total: 200,
            capped: false,
        };
        assert_eq!(
            info.window(),
            vec![
                Some(1),
                None,
                Some(4),
                Some(5),
                Some(6),
                Some(7),
                Some(8),
                None,
                Some(20)
            ]
        );
        let small = PageInfo {
            page: 1,
            per_page: 10,
            total: 25,
            capped: false,
        };
        assert_eq!(small.window(), vec![Some(1), Some(2), Some(3)]);
        assert_eq!(small.range(), (1, 10));
        let empty = PageInfo {
            page: 1,
            per_page: 10,
            total: 0,
            capped: false,
        };
        assert_eq!(empty.pages(), 1);
        assert_eq!(empty.range(), (0, 0));
        assert!(!empty.has_next());
    }

    #[test]
    fn a_capped_count_shows_a_gap_after_the_last_known_page() {
        let info = PageInfo {
            page: 1,
            per_page: 20,
            total: 10_000,
            capped: true,
        };
        assert_eq!(info.pages(), 500);
        assert!(info.has_next());
        assert_eq!(
            info.window(),
            vec![Some(1), Some(2), Some(3), None, Some(500), None]
        );
        assert_eq!(info.total_text(), "10,000");
        let small = PageInfo {
            page: 1,
            per_page: 20,
            total: 999,
            capped: false,
        };
        assert_eq!(small.total_text(), "999");
    }
}
