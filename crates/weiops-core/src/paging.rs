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
    pub total: i64,
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
        };
        assert_eq!(small.window(), vec![Some(1), Some(2), Some(3)]);
        assert_eq!(small.range(), (1, 10));
        let empty = PageInfo {
            page: 1,
            per_page: 10,
            total: 0,
        };
        assert_eq!(empty.pages(), 1);
        assert_eq!(empty.range(), (0, 0));
        assert!(!empty.has_next());
    }
}
