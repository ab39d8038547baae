//! Property tests of the pure rules: they hold for any input, not just the
//! examples in the unit tests.

use proptest::prelude::*;
use weiops_core::access::{DataScope, RecordOwner, Viewer, may_see};
use weiops_core::accounts::{LOCKOUT_MS, LoginGuard, MAX_FAILED_LOGINS};
use weiops_core::money::{Bp, Fen};
use weiops_core::paging::{PageInfo, PageRequest};

proptest! {
    #[test]
    fn money_display_parses_back(v in any::<i64>().prop_filter("MIN has no positive twin", |v| *v != i64::MIN)) {
        prop_assert_eq!(Fen::parse_yuan(&Fen(v).to_string()), Ok(Fen(v)));
    }

    #[test]
    fn rate_is_a_floor_within_bounds(amount in 0i64..=i64::MAX, bp in 0u32..=10_000) {
        let out = Fen(amount).apply_rate(Bp(bp)).unwrap().0;
        prop_assert!(out >= 0 && out <= amount);
        // floor: out * 10000 <= amount * bp < (out + 1) * 10000
        let exact = i128::from(amount) * i128::from(bp);
        prop_assert!(i128::from(out) * 10_000 <= exact);
        prop_assert!(exact < (i128::from(out) + 1) * 10_000);
    }

    #[test]
    fn widening_scope_never_hides_a_record(
        owner in proptest::option::of(1i64..20),
        path in proptest::option::of("(/[1-9]){1,4}/"),
        viewer_path in proptest::option::of("(/[1-9]){1,3}/"),
    ) {
        let record = RecordOwner { user_id: owner, department_path: path.as_deref() };
        let see = |scope| may_see(&Viewer { user_id: 7, scope, department_path: viewer_path.as_deref() }, record);
        prop_assert!(!see(DataScope::Own) || see(DataScope::DepartmentTree));
        prop_assert!(!see(DataScope::DepartmentTree) || see(DataScope::All));
        prop_assert!(see(DataScope::All));
    }

    #[test]
    fn lockout_needs_five_failures_in_a_row(failures in 0usize..12, start in 0i64..1_000_000_000) {
        let mut g = LoginGuard::default();
        let mut locked_at = None;
        for i in 0..failures {
            let now = start + i as i64;
            if g.is_locked(now) { break; }
            g = g.after_failure(now);
            if g.is_locked(now) && locked_at.is_none() { locked_at = Some(i + 1); }
        }
        match locked_at {
            Some(n) => {
                prop_assert_eq!(n as i64, MAX_FAILED_LOGINS);
                prop_assert!(g.locked_until_ms.unwrap() - start <= LOCKOUT_MS + 12);
            }
            None => prop_assert!((failures as i64) < MAX_FAILED_LOGINS),
        }
    }

    #[test]
    fn pages_cover_every_row_once(total in 0i64..5_000, per_page in 1i64..200) {
        let pages = PageInfo { page: 1, per_page, total, capped: false }.pages();
        let mut seen = 0;
        for p in 1..=pages {
            let req = PageRequest::new(Some(p), Some(per_page));
            let info = PageInfo { page: p, per_page, total, capped: false };
            let (first, last) = info.range();
            if total > 0 {
                prop_assert_eq!(first, req.offset() + 1);
                seen += last - first + 1;
            }
            let window = info.window();
            prop_assert!(window.contains(&Some(p)));
            prop_assert!(window.first() == Some(&Some(1)));
            prop_assert!(window.last() == Some(&Some(pages)));
        }
        prop_assert_eq!(seen, total);
    }
}
