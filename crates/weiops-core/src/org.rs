//! Rules of the organisation: the department tree, permission patterns,
//! staff status, KPI targets.

use std::fmt;

/// Whether a granted permission pattern covers `code`.
///
/// Roles grant exact codes (`finance.read`) or patterns: `*` (everything),
/// `finance.*` (the whole finance domain, including permissions that domain
/// adds later) and `*.read` (reading everywhere). That is how a template's
/// 财务 role keeps fitting its duties as new finance features arrive.
pub fn permission_matches(pattern: &str, code: &str) -> bool {
    if pattern == "*" || pattern == code {
        return true;
    }
    let Some((group, action)) = code.split_once('.') else {
        return false;
    };
    match pattern.split_once('.') {
        Some((g, "*")) => g == group,
        Some(("*", a)) => a == action,
        _ => false,
    }
}

/// The materialised path of a department: its parent's path plus its id.
pub fn department_path(parent_path: Option<&str>, id: i64) -> String {
    format!("{}{id}/", parent_path.unwrap_or("/"))
}

/// Whether the department at `path` is `ancestor_path` itself or below it.
/// Moving a department under one of these would make a cycle.
pub fn is_within(path: &str, ancestor_path: &str) -> bool {
    path.starts_with(ancestor_path)
}

/// Where a staff member stands with the company.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StaffStatus {
    /// 在职
    OnJob,
    /// 休假 / 停薪留职: still employed, account kept.
    OnLeave,
    /// 离职: the account is disabled at once; history is kept.
    Left,
}

impl std::fmt::Display for StaffStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl StaffStatus {
    pub const ALL: [StaffStatus; 3] = [StaffStatus::OnJob, StaffStatus::OnLeave, StaffStatus::Left];

    pub fn as_str(self) -> &'static str {
        match self {
            StaffStatus::OnJob => "on_job",
            StaffStatus::OnLeave => "on_leave",
            StaffStatus::Left => "left",
        }
    }

    pub fn parse(s: &str) -> Option<StaffStatus> {
        match s.trim() {
            "on_job" | "在职" => Some(StaffStatus::OnJob),
            "on_leave" | "休假" => Some(StaffStatus::OnLeave),
            "left" | "离职" => Some(StaffStatus::Left),
            _ => None,
        }
    }

    /// Whether a staff member in this status may sign in.
    pub fn account_active(self) -> bool {
        self != StaffStatus::Left
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KpiDirection {
    Higher,
    Lower,
}

impl KpiDirection {
    pub fn as_str(self) -> &'static str {
        match self {
            KpiDirection::Higher => "higher",
            KpiDirection::Lower => "lower",
        }
    }

    pub fn parse(s: &str) -> Option<KpiDirection> {
        match s.trim() {
            "higher" => Some(KpiDirection::Higher),
            "lower" => Some(KpiDirection::Lower),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KpiPeriod {
    Week,
    Month,
    Quarter,
    Year,
}

impl KpiPeriod {
    pub const ALL: [KpiPeriod; 4] = [
        KpiPeriod::Week,
        KpiPeriod::Month,
        KpiPeriod::Quarter,
        KpiPeriod::Year,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            KpiPeriod::Week => "week",
            KpiPeriod::Month => "month",
            KpiPeriod::Quarter => "quarter",
            KpiPeriod::Year => "year",
        }
    }

    pub fn parse(s: &str) -> Option<KpiPeriod> {
        KpiPeriod::ALL.into_iter().find(|p| p.as_str() == s.trim())
    }
}

/// A decimal with three places kept as an integer count of thousandths:
/// KPI targets such as `95.5` (%) or `500000` (元) without floats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Milli(pub i64);

impl Milli {
    /// `12.5` → 12500. At most three decimal places; no exponent, no sign
    /// other than a leading `-`.
    pub fn parse(input: &str) -> Option<Milli> {
        let s = input.trim().replace(',', "");
        let (neg, s) = match s.strip_prefix('-') {
            Some(r) => (true, r.to_string()),
            None => (false, s),
        };
        let (whole, frac) = s.split_once('.').unwrap_or((&s, ""));
        if whole.is_empty() && frac.is_empty() {
            return None;
        }
        if frac.len() > 3
            || !whole.chars().all(|c| c.is_ascii_digit())
            || !frac.chars().all(|c| c.is_ascii_digit())
        {
            return None;
        }
        let w: i64 = if whole.is_empty() {
            0
        } else {
            whole.parse().ok()?
        };
        let f: i64 = if frac.is_empty() {
            0
        } else {
            format!("{frac:0<3}").parse().ok()?
        };
        let v = w.checked_mul(1000)?.checked_add(f)?;
        Some(Milli(if neg { -v } else { v }))
    }
}

/// `12.5`, `500000`, `0.125`: no trailing zeros.
impl fmt::Display for Milli {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let (w, r) = (abs / 1000, abs % 1000);
        if r == 0 {
            write!(f, "{sign}{w}")
        } else {
            let frac = format!("{r:03}");
            write!(f, "{sign}{w}.{}", frac.trim_end_matches('0'))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permission_patterns() {
        assert!(permission_matches("*", "finance.approve"));
        assert!(permission_matches("finance.*", "finance.approve"));
        assert!(!permission_matches("finance.*", "financex.read"));
        assert!(permission_matches("*.read", "orders.read"));
        assert!(!permission_matches("*.read", "orders.write"));
        assert!(permission_matches("users.read", "users.read"));
        assert!(!permission_matches("users.read", "users.write"));
        assert!(!permission_matches("users", "users.read"));
    }

    #[test]
    fn paths_and_cycles() {
        assert_eq!(department_path(None, 4), "/4/");
        assert_eq!(department_path(Some("/4/"), 9), "/4/9/");
        assert!(is_within("/4/9/", "/4/"));
        assert!(is_within("/4/", "/4/"));
        assert!(!is_within("/44/", "/4/"));
    }

    #[test]
    fn staff_status() {
        assert_eq!(StaffStatus::parse("离职"), Some(StaffStatus::Left));
        assert!(!StaffStatus::Left.account_active());
        assert!(StaffStatus::OnLeave.account_active());
        for s in StaffStatus::ALL {
            assert_eq!(StaffStatus::parse(s.as_str()), Some(s));
        }
    }

    #[test]
    fn milli_values() {
        assert_eq!(Milli::parse("12.5"), Some(Milli(12_500)));
        assert_eq!(Milli::parse("500,000"), Some(Milli(500_000_000)));
        assert_eq!(Milli::parse("-0.125"), Some(Milli(-125)));
        assert_eq!(Milli::parse("1.2345"), None);
        assert_eq!(Milli::parse("1e3"), None);
        assert_eq!(Milli::parse(""), None);
        assert_eq!(Milli(12_500).to_string(), "12.5");
        assert_eq!(Milli(500_000_000).to_string(), "500000");
        assert_eq!(Milli(-125).to_string(), "-0.125");
    }
}
