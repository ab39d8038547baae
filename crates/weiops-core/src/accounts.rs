//! Rules of staff accounts: names, passwords, lockout, session expiry.

/// Failed logins in a row that lock an account.
pub const MAX_FAILED_LOGINS: i64 = 5;
/// How long a lock lasts.
pub const LOCKOUT_MS: i64 = 15 * 60 * 1000;
pub const MIN_PASSWORD_CHARS: usize = 8;
pub const MAX_PASSWORD_CHARS: usize = 128;

/// Whether a staff account may sign in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UserStatus {
    Active,
    /// Stopped by an administrator, or because its holder left (离职):
    /// no sign-in, no sessions; history is kept.
    Disabled,
}

impl UserStatus {
    pub const ALL: [UserStatus; 2] = [UserStatus::Active, UserStatus::Disabled];

    pub fn as_str(self) -> &'static str {
        match self {
            UserStatus::Active => "active",
            UserStatus::Disabled => "disabled",
        }
    }

    /// Exactly `active` or `disabled`.
    pub fn parse(s: &str) -> Option<UserStatus> {
        UserStatus::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// `active` when `yes`, else `disabled`.
    pub fn active_if(yes: bool) -> UserStatus {
        if yes {
            UserStatus::Active
        } else {
            UserStatus::Disabled
        }
    }
}

impl std::fmt::Display for UserStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a value was refused; the server maps each to a localised message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invalid {
    Required,
    TooShort,
    TooLong,
    BadCharacters,
    BadPhone,
    PasswordTooWeak,
}

/// Usernames: 2–32 characters of ASCII letters, digits, `_`, `.`, `-`,
/// starting with a letter, compared case-insensitively (stored lowercase),
/// so `Admin` and `admin` cannot both exist.
pub fn normalize_username(input: &str) -> Result<String, Invalid> {
    let name = input.trim();
    if name.is_empty() {
        return Err(Invalid::Required);
    }
    if name.chars().count() < 2 {
        return Err(Invalid::TooShort);
    }
    if name.chars().count() > 32 {
        return Err(Invalid::TooLong);
    }
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    if !first_ok
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
    {
        return Err(Invalid::BadCharacters);
    }
    Ok(name.to_ascii_lowercase())
}

/// Mainland mobile numbers: 11 digits, `1` then `3`–`9` (no mainland mobile
/// range starts 10, 11 or 12), stored as those 11 digits. People type them
/// with spaces or dashes (`138 0013 8000`, `138-0013-8000`) and with the
/// country code (`+86`, `86`, `0086`, also `+86 138…`), so those are
/// dropped first; anything else (a 7-digit landline, letters, a masked
/// `138****0001`) is refused. Empty input means "no phone".
///
/// One rule for every phone weiops stores: staff accounts, agents (form,
/// recruitment and import), receivers of orders and cloud-stock shipments.
pub fn normalize_phone(input: &str) -> Result<Option<String>, Invalid> {
    let digits: String = input
        .trim()
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '\u{3000}'))
        .collect();
    if digits.is_empty() {
        return Ok(None);
    }
    let national = digits
        .strip_prefix("+86")
        .or_else(|| digits.strip_prefix("0086"))
        .or_else(|| digits.strip_prefix("86").filter(|rest| rest.len() == 11))
        .unwrap_or(&digits);
    let b = national.as_bytes();
    if b.len() == 11
        && b[0] == b'1'
        && (b'3'..=b'9').contains(&b[1])
        && b.iter().all(u8::is_ascii_digit)
    {
        Ok(Some(national.to_string()))
    } else {
        Err(Invalid::BadPhone)
    }
}

/// A display name: required, at most 64 characters, no control characters.
pub fn normalize_display_name(input: &str) -> Result<String, Invalid> {
    let name = input.trim();
    if name.is_empty() {
        return Err(Invalid::Required);
    }
    if name.chars().count() > 64 {
        return Err(Invalid::TooLong);
    }
    if name.chars().any(char::is_control) {
        return Err(Invalid::BadCharacters);
    }
    Ok(name.to_string())
}

/// Passwords: 8–128 characters with at least two of letters, digits and
/// other characters, and not the username itself.
pub fn check_password(password: &str, username: &str) -> Result<(), Invalid> {
    let n = password.chars().count();
    if n == 0 {
        return Err(Invalid::Required);
    }
    if n < MIN_PASSWORD_CHARS {
        return Err(Invalid::TooShort);
    }
    if n > MAX_PASSWORD_CHARS {
        return Err(Invalid::TooLong);
    }
    let letters = password.chars().any(|c| c.is_alphabetic());
    let digits = password.chars().any(|c| c.is_ascii_digit());
    let others = password.chars().any(|c| !c.is_alphanumeric());
    let classes = [letters, digits, others].iter().filter(|x| **x).count();
    if classes < 2 || password.eq_ignore_ascii_case(username) {
        return Err(Invalid::PasswordTooWeak);
    }
    Ok(())
}

/// Lock state of an account as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LoginGuard {
    pub failed_logins: i64,
    pub locked_until_ms: Option<i64>,
}

impl LoginGuard {
    pub fn is_locked(&self, now_ms: i64) -> bool {
        self.locked_until_ms.is_some_and(|until| now_ms < until)
    }

    /// The state after one more wrong password. The fifth failure in a row
    /// locks the account for 15 minutes and restarts the count, so the
    /// next five attempts after the lock expires get a fresh budget.
    pub fn after_failure(&self, now_ms: i64) -> LoginGuard {
        let failed = if self.locked_until_ms.is_some_and(|u| now_ms >= u) {
            1
        } else {
            self.failed_logins + 1
        };
        if failed >= MAX_FAILED_LOGINS {
            LoginGuard {
                failed_logins: 0,
                locked_until_ms: Some(now_ms + LOCKOUT_MS),
            }
        } else {
            LoginGuard {
                failed_logins: failed,
                locked_until_ms: self.locked_until_ms.filter(|u| now_ms < *u),
            }
        }
    }
}

/// Session lifetime settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPolicy {
    /// A session unused this long ends.
    pub idle_ms: i64,
    /// A session ends this long after sign-in, used or not.
    pub absolute_ms: i64,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        SessionPolicy {
            idle_ms: 2 * 3_600_000,
            absolute_ms: 7 * 24 * 3_600_000,
        }
    }
}

/// Cut-offs for deleting sessions that ended at least a retention period
/// ago: a session row may go when `revoked_at < revoked_before`, or
/// `last_seen_at < last_seen_before`, or `created_at < created_before`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PruneBefore {
    pub revoked_before: i64,
    pub last_seen_before: i64,
    pub created_before: i64,
}

impl SessionPolicy {
    /// A session ends at the earliest of its revocation, `last_seen + idle`
    /// and `created + absolute`; these cut-offs select the sessions that
    /// ended more than `keep_ms` before `now_ms` (kept that long so the
    /// sessions list still shows recent sign-outs).
    pub fn prune_before(&self, now_ms: i64, keep_ms: i64) -> PruneBefore {
        let ended_before = now_ms.saturating_sub(keep_ms);
        PruneBefore {
            revoked_before: ended_before,
            last_seen_before: ended_before.saturating_sub(self.idle_ms),
            created_before: ended_before.saturating_sub(self.absolute_ms),
        }
    }

    pub fn is_alive(&self, created_ms: i64, last_seen_ms: i64, now_ms: i64) -> bool {
        now_ms < created_ms.saturating_add(self.absolute_ms)
            && now_ms < last_seen_ms.saturating_add(self.idle_ms)
    }

    /// Writing `last_seen` on every request would turn every page view into
    /// a write; once a minute is precise enough for a two-hour idle limit.
    pub fn needs_touch(&self, last_seen_ms: i64, now_ms: i64) -> bool {
        now_ms - last_seen_ms >= 60_000
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        assert_eq!(normalize_username(" Admin "), Ok("admin".into()));
        assert_eq!(normalize_username("li.wei_2"), Ok("li.wei_2".into()));
        assert_eq!(normalize_username(""), Err(Invalid::Required));
        assert_eq!(normalize_username("a"), Err(Invalid::TooShort));
        assert_eq!(normalize_username("li"), Ok("li".into()));
        assert_eq!(normalize_username("2abc"), Err(Invalid::BadCharacters));
        assert_eq!(normalize_username("张三丰"), Err(Invalid::BadCharacters));
        assert_eq!(normalize_username(&"a".repeat(33)), Err(Invalid::TooLong));
    }

    #[test]
    fn phones() {
        assert_eq!(
            normalize_phone("138 0013 8000"),
            Ok(Some("13800138000".into()))
        );
        assert_eq!(
            normalize_phone("+8613800138000"),
            Ok(Some("13800138000".into()))
        );
        assert_eq!(normalize_phone(""), Ok(None));
        assert_eq!(normalize_phone("23800138000"), Err(Invalid::BadPhone));
        assert_eq!(normalize_phone("1380013800"), Err(Invalid::BadPhone));
    }

    #[test]
    fn phones_are_mainland_mobiles_as_people_type_them() {
        for (typed, stored) in [
            ("13912345678", "13912345678"),
            (" 139-1234-5678 ", "13912345678"),
            ("139 1234 5678", "13912345678"),
            ("+86 139 1234 5678", "13912345678"),
            ("+86-13912345678", "13912345678"),
            ("8613912345678", "13912345678"),
            ("008613912345678", "13912345678"),
            ("19912345678", "19912345678"),
            ("139\u{3000}1234\u{3000}5678", "13912345678"),
        ] {
            assert_eq!(normalize_phone(typed), Ok(Some(stored.into())), "{typed:?}");
        }
        for typed in [
            "1391111",      // 7 digits: a landline number, not a mobile
            "139111122223", // 12 digits
            "10012345678",  // no mobile range starts 10, 11 or 12
            "11012345678",
            "12012345678",
            "86139123456",    // "86" is a prefix only before 11 digits
            "+8513912345678", // another country
            "139****5678",    // a masked export
            "1391234567８",   // full-width digit
            "139.1234.5678",
            "phone",
        ] {
            assert_eq!(normalize_phone(typed), Err(Invalid::BadPhone), "{typed:?}");
        }
    }

    #[test]
    fn passwords() {
        assert_eq!(check_password("abcdefg1", "x"), Ok(()));
        assert_eq!(check_password("短密码1", "x"), Err(Invalid::TooShort));
        assert_eq!(
            check_password("abcdefgh", "x"),
            Err(Invalid::PasswordTooWeak)
        );
        assert_eq!(
            check_password("12345678", "x"),
            Err(Invalid::PasswordTooWeak)
        );
        assert_eq!(
            check_password("Admin123", "admin123"),
            Err(Invalid::PasswordTooWeak)
        );
        assert_eq!(check_password("", "x"), Err(Invalid::Required));
    }

    #[test]
    fn fifth_failure_locks_for_fifteen_minutes() {
        let mut g = LoginGuard::default();
        for _ in 0..4 {
            g = g.after_failure(1_000);
            assert!(!g.is_locked(1_000));
        }
        g = g.after_failure(1_000);
        assert!(g.is_locked(1_000));
        assert!(g.is_locked(1_000 + LOCKOUT_MS - 1));
        assert!(!g.is_locked(1_000 + LOCKOUT_MS));
        // After the lock expires, one failure does not lock again.
        let g2 = g.after_failure(1_000 + LOCKOUT_MS);
        assert_eq!(
            g2,
            LoginGuard {
                failed_logins: 1,
                locked_until_ms: None
            }
        );
    }

    #[test]
    fn sessions_expire_when_idle_or_old() {
        let p = SessionPolicy {
            idle_ms: 100,
            absolute_ms: 1_000,
        };
        assert!(p.is_alive(0, 0, 99));
        assert!(!p.is_alive(0, 0, 100));
        assert!(p.is_alive(0, 950, 999));
        assert!(!p.is_alive(0, 950, 1_000));
        assert!(!p.needs_touch(0, 59_999));
        assert!(p.needs_touch(0, 60_000));
    }

    #[test]
    fn prune_cut_offs_never_select_a_live_session() {
        let policy = SessionPolicy::default();
        let keep = 30 * 24 * 3_600_000;
        let now = 1_800_000_000_000;
        let cut = policy.prune_before(now, keep);
        // Any session selected by a cut-off ended more than `keep` ago.
        let last_seen = cut.last_seen_before - 1;
        assert!(!policy.is_alive(last_seen, last_seen, now - keep));
        let created = cut.created_before - 1;
        assert!(!policy.is_alive(created, now, now - keep));
        // One used a moment ago is never selected.
        let moment_ago = now - 1_000;
        assert!(moment_ago >= cut.last_seen_before && moment_ago >= cut.created_before);
        let huge = SessionPolicy {
            idle_ms: i64::MAX,
            absolute_ms: i64::MAX,
        };
        // Unbounded lifetimes select nothing (stored times are positive).
        assert!(huge.prune_before(now, keep).last_seen_before < 0);
    }
}
