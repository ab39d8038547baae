//! The brand weiops runs for (系统设置 → 品牌信息): its name, short name,
//! logo, the text around the certificate's seal, the customer-service
//! phone and the bank accounts agents transfer money to.
//!
//! Stored as one JSON value (`brand`) in `app_settings`, so every page reads
//! the whole brand with one primary-key lookup and every change is one
//! audit entry with the complete before and after. A field left empty
//! falls back to weiops' own name (微运营 / weiops, in the reader's
//! language), so an installation that never set anything looks as before.

use serde::{Deserialize, Serialize};

use crate::Result;
use crate::audit::Actor;
use crate::db::Db;
use crate::error::FieldErrors;
use crate::i18n::Locale;

/// The `app_settings` name the brand is stored under.
pub const SETTING: &str = "brand";

pub const MAX_NAME: usize = 40;
pub const MAX_SHORT_NAME: usize = 12;
/// What fits around the seal's upper arc at its font size.
pub const MAX_SEAL_TEXT: usize = 20;
pub const MAX_ACCOUNTS: usize = 5;
/// Logos are shown at 28–44 px: 1 MB is plenty.
pub const MAX_LOGO_BYTES: usize = 1024 * 1024;

/// A bank account agents transfer money to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BankAccount {
    /// The account holder (户名), 1–60 characters.
    pub account_name: String,
    /// The bank and branch (开户行), 1–60 characters.
    pub bank: String,
    /// The account number (账号): 8–30 digits, spaces allowed for grouping.
    pub account_number: String,
    /// Shown under the account (e.g. "对公账户，仅限货款"), at most 100 characters.
    #[serde(default)]
    pub note: String,
}

/// The brand as stored and as the API reads and writes it (the logo is
/// uploaded on the settings page and only reported here).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Brand {
    /// The brand's full name, at most 40 characters; empty: 微运营.
    #[serde(default)]
    pub name: String,
    /// Shown where space is short (the menu's header), at most 12
    /// characters; empty: the full name.
    #[serde(default)]
    pub short_name: String,
    /// The text around the certificate's seal, at most 20 characters;
    /// empty: the full name.
    #[serde(default)]
    pub seal_text: String,
    /// The customer-service phone shown to agents (digits, spaces, `-`, `+`,
    /// parentheses; 5–20 characters), or empty.
    #[serde(default)]
    pub service_phone: String,
    /// Where agents transfer money to, 0 to 5 accounts, in display order.
    #[serde(default)]
    pub bank_accounts: Vec<BankAccount>,
    /// The uploaded logo's stored file name (uploaded on the settings
    /// page; the API reports its address, never the name).
    #[serde(skip)]
    pub logo: Option<String>,
}

impl Brand {
    /// The name to show: the brand's, or weiops' own in `locale`.
    pub fn name(&self, locale: Locale) -> String {
        if self.name.is_empty() {
            locale.t("app.name")
        } else {
            self.name.clone()
        }
    }

    pub fn short_name(&self, locale: Locale) -> String {
        if self.short_name.is_empty() {
            self.name(locale)
        } else {
            self.short_name.clone()
        }
    }

    pub fn seal_text(&self, locale: Locale) -> String {
        if self.seal_text.is_empty() {
            self.name(locale)
        } else {
            self.seal_text.clone()
        }
    }

    /// The font size and the length the seal text takes along the seal's
    /// arc (240° of radius 48, about 200 units): short names sit spaced at
    /// the top, long ones are set smaller and fill the arc, as on a stamp.
    pub fn seal_layout(&self, locale: Locale) -> (u32, u32) {
        let n = self.seal_text(locale).chars().count().max(1) as f64;
        let font = (185.0 / (n * 1.15)).clamp(9.0, 18.0);
        let length = (n * font * 1.4).min(185.0);
        (font.round() as u32, length.round() as u32)
    }

    /// The logo's address: the uploaded one (its file name in the query so
    /// a new upload is never served from a cache), or weiops' own.
    pub fn logo_url(&self, version: &str) -> String {
        match &self.logo {
            Some(file) => format!("/brand/logo?v={file}"),
            None => format!("/assets/logo.svg?v={version}"),
        }
    }

    /// Trims every field and drops bank-account rows left wholly empty (how
    /// the settings form removes an account).
    pub fn normalised(mut self) -> Brand {
        let trim = |s: &mut String| *s = s.trim().to_string();
        trim(&mut self.name);
        trim(&mut self.short_name);
        trim(&mut self.seal_text);
        trim(&mut self.service_phone);
        for a in &mut self.bank_accounts {
            trim(&mut a.account_name);
            trim(&mut a.bank);
            trim(&mut a.account_number);
            trim(&mut a.note);
        }
        self.bank_accounts.retain(|a| {
            !(a.account_name.is_empty()
                && a.bank.is_empty()
                && a.account_number.is_empty()
                && a.note.is_empty())
        });
        self
    }

    /// Every problem of a normalised brand, by field (`bank_accounts.0.bank`).
    pub fn check(&self) -> FieldErrors {
        let mut e = FieldErrors::default();
        let too_long = |s: &str, max: usize| s.chars().count() > max;
        let printable = |s: &str| !s.chars().any(char::is_control);
        for (field, value, max) in [
            ("name", &self.name, MAX_NAME),
            ("short_name", &self.short_name, MAX_SHORT_NAME),
            ("seal_text", &self.seal_text, MAX_SEAL_TEXT),
        ] {
            if too_long(value, max) {
                e.add(field, "field.too_long");
            } else if !printable(value) {
                e.add(field, "field.bad_characters");
            }
        }
        if !self.service_phone.is_empty() && !service_phone_ok(&self.service_phone) {
            e.add("service_phone", "brand.bad_service_phone");
        }
        if self.bank_accounts.len() > MAX_ACCOUNTS {
            e.add("bank_accounts", "brand.too_many_accounts");
        }
        for (i, a) in self.bank_accounts.iter().enumerate() {
            let f = |name: &str| format!("bank_accounts.{i}.{name}");
            for (name, value, max) in [("account_name", &a.account_name, 60), ("bank", &a.bank, 60)]
            {
                if value.is_empty() {
                    e.add(&f(name), "field.required");
                } else if too_long(value, max) {
                    e.add(&f(name), "field.too_long");
                } else if !printable(value) {
                    e.add(&f(name), "field.bad_characters");
                }
            }
            if a.account_number.is_empty() {
                e.add(&f("account_number"), "field.required");
            } else if !account_number_ok(&a.account_number) {
                e.add(&f("account_number"), "brand.bad_account_number");
            }
            if too_long(&a.note, 100) {
                e.add(&f("note"), "field.too_long");
            } else if !printable(&a.note) {
                e.add(&f("note"), "field.bad_characters");
            }
        }
        e
    }
}

/// A phone people can dial: a mobile, a landline with area code or a
/// 400/800 number, written with the usual separators.
fn service_phone_ok(s: &str) -> bool {
    let digits = s.chars().filter(char::is_ascii_digit).count();
    (5..=20).contains(&s.chars().count())
        && digits >= 5
        && s.chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '+' | '(' | ')'))
}

/// 8 to 30 digits, grouped with spaces as printed on cards and statements.
fn account_number_ok(s: &str) -> bool {
    let digits = s.chars().filter(char::is_ascii_digit).count();
    (8..=30).contains(&digits) && s.chars().all(|c| c.is_ascii_digit() || c == ' ')
}

/// The brand in force; the defaults when never set. A stored value that no
/// longer parses (edited by hand) reads as the defaults rather than
/// breaking every page.
#[tracing::instrument(skip(db))]
pub async fn load(db: &Db) -> Result<Brand> {
    let Some(raw) = super::get(db, SETTING).await? else {
        return Ok(Brand::default());
    };
    Ok(parse(&raw))
}

fn parse(raw: &str) -> Brand {
    #[derive(Deserialize)]
    struct Stored {
        #[serde(flatten)]
        brand: Brand,
        #[serde(default)]
        logo: Option<String>,
    }
    match serde_json::from_str::<Stored>(raw) {
        Ok(s) => Brand {
            logo: s.logo,
            ..s.brand
        },
        Err(e) => {
            tracing::warn!(error = %e, "stored brand settings do not parse; using the defaults");
            Brand::default()
        }
    }
}

fn stored_json(b: &Brand) -> serde_json::Value {
    let mut v = serde_json::to_value(b).unwrap_or_default();
    v["logo"] = serde_json::json!(b.logo);
    v
}

/// The fields whose value differs, for the audit summary.
fn changed_fields(before: &Brand, after: &Brand) -> Vec<&'static str> {
    let mut out = Vec::new();
    let pairs: [(&'static str, bool); 6] = [
        ("name", before.name != after.name),
        ("short_name", before.short_name != after.short_name),
        ("seal_text", before.seal_text != after.seal_text),
        ("service_phone", before.service_phone != after.service_phone),
        ("bank_accounts", before.bank_accounts != after.bank_accounts),
        ("logo", before.logo != after.logo),
    ];
    for (name, changed) in pairs {
        if changed {
            out.push(name);
        }
    }
    out
}

async fn store(db: &Db, actor: &Actor, before: &Brand, after: &Brand) -> Result<()> {
    let changed = changed_fields(before, after);
    let summary = if changed.is_empty() {
        "brand: no change".to_string()
    } else {
        format!("brand: {}", changed.join(", "))
    };
    super::set_json(
        db,
        actor,
        SETTING,
        &summary,
        &stored_json(before),
        &stored_json(after),
    )
    .await
}

/// Checks and saves the brand's texts and bank accounts (the logo stays as
/// it is); nothing is saved when anything is wrong.
#[tracing::instrument(skip(db, actor, new))]
pub async fn save(db: &Db, actor: &Actor, new: Brand) -> Result<Brand> {
    let new = new.normalised();
    new.check().into_result()?;
    let before = load(db).await?;
    let after = Brand {
        logo: before.logo.clone(),
        ..new
    };
    store(db, actor, &before, &after).await?;
    Ok(after)
}

/// Records a new logo file (or none); returns the previous file so the
/// caller can delete it once the change is stored.
#[tracing::instrument(skip(db, actor))]
pub async fn set_logo(db: &Db, actor: &Actor, file: Option<&str>) -> Result<Option<String>> {
    let before = load(db).await?;
    let after = Brand {
        logo: file.map(str::to_string),
        ..before.clone()
    };
    store(db, actor, &before, &after).await?;
    Ok(before.logo)
}

/// A stored logo's file name is ours (`brand-logo-<hex>.<ext>`): nothing
/// that could leave the uploads folder.
pub fn safe_file_name(name: &str) -> bool {
    name.starts_with("brand-logo-")
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account() -> BankAccount {
        BankAccount {
            account_name: "杭州某某商贸有限公司".into(),
            bank: "招商银行杭州分行".into(),
            account_number: "6214 8301 2345 6789".into(),
            note: String::new(),
        }
    }

    #[test]
    fn defaults_fall_back_to_weiops() {
        let b = Brand::default();
        assert_eq!(b.name(Locale::ZhCn), "微运营");
        assert_eq!(b.short_name(Locale::ZhCn), "微运营");
        assert_eq!(b.seal_text(Locale::En), "weiops");
        assert!(b.logo_url("1").starts_with("/assets/logo.svg"));
        let b = Brand {
            name: "雅澜国际".into(),
            ..Brand::default()
        };
        assert_eq!(b.short_name(Locale::ZhCn), "雅澜国际");
        assert_eq!(b.seal_text(Locale::ZhCn), "雅澜国际");
    }

    #[test]
    fn empty_account_rows_are_dropped_and_fields_trimmed() {
        let b = Brand {
            name: "  雅澜 ".into(),
            bank_accounts: vec![BankAccount::default(), account()],
            ..Brand::default()
        }
        .normalised();
        assert_eq!(b.name, "雅澜");
        assert_eq!(b.bank_accounts, vec![account()]);
        assert!(b.check().is_empty());
    }

    fn key_of<'a>(e: &'a FieldErrors, field: &str) -> Option<&'a str> {
        e.get(field)
    }

    #[test]
    fn refuses_bad_values() {
        let mut bad = account();
        bad.account_number = "62148301ABC".into();
        let b = Brand {
            name: "名".repeat(MAX_NAME + 1),
            service_phone: "call me".into(),
            bank_accounts: vec![
                bad,
                BankAccount {
                    bank: String::new(),
                    ..account()
                },
            ],
            ..Brand::default()
        };
        let e = b.check();
        assert_eq!(key_of(&e, "name"), Some("field.too_long"));
        assert_eq!(key_of(&e, "service_phone"), Some("brand.bad_service_phone"));
        assert_eq!(
            key_of(&e, "bank_accounts.0.account_number"),
            Some("brand.bad_account_number")
        );
        assert_eq!(key_of(&e, "bank_accounts.1.bank"), Some("field.required"));
        let many = Brand {
            bank_accounts: vec![account(); MAX_ACCOUNTS + 1],
            ..Brand::default()
        };
        assert_eq!(
            key_of(&many.check(), "bank_accounts"),
            Some("brand.too_many_accounts")
        );
    }

    #[test]
    fn phones_and_account_numbers() {
        for ok in [
            "400-820-8820",
            "0571-8888 6666",
            "13912345678",
            "+86 571 8888 6666",
        ] {
            assert!(service_phone_ok(ok), "{ok}");
        }
        for bad in ["1234", "call-me", "139123456789012345678"] {
            assert!(!service_phone_ok(bad), "{bad}");
        }
        assert!(account_number_ok("6214830123456789"));
        assert!(account_number_ok("6214 8301 2345 6789"));
        assert!(!account_number_ok("1234567"));
        assert!(!account_number_ok("6214-8301-2345"));
    }

    #[test]
    fn stored_logo_round_trips_but_the_api_cannot_set_it() {
        let b = Brand {
            name: "雅澜".into(),
            logo: Some("brand-logo-ab12.png".into()),
            ..Brand::default()
        };
        let raw = stored_json(&b).to_string();
        assert_eq!(parse(&raw), b);
        let from_api: Brand = serde_json::from_str(r#"{"logo":"../../etc/passwd"}"#).unwrap();
        assert_eq!(from_api.logo, None);
        assert_eq!(parse("not json"), Brand::default());
        assert!(safe_file_name("brand-logo-ab12.png"));
        assert!(!safe_file_name("../brand-logo-x.png"));
        assert!(!safe_file_name("product-1-ab.png"));
    }
}
