//! Languages: Simplified Chinese first, English second.
//!
//! The language of a request is, in order: the `weiops_lang` cookie (set by
//! the language switch and at sign-in from the user's saved preference), the
//! `Accept-Language` header, then zh-CN. Texts live in `locales/*.json`.

use serde::{Deserialize, Serialize};

pub const LANG_COOKIE: &str = "weiops_lang";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Locale {
    #[default]
    #[serde(rename = "zh-CN")]
    ZhCn,
    #[serde(rename = "en")]
    En,
}

impl Locale {
    pub const ALL: [Locale; 2] = [Locale::ZhCn, Locale::En];

    pub fn code(self) -> &'static str {
        match self {
            Locale::ZhCn => "zh-CN",
            Locale::En => "en",
        }
    }

    /// `<html lang>` value.
    pub fn html_lang(self) -> &'static str {
        match self {
            Locale::ZhCn => "zh-CN",
            Locale::En => "en",
        }
    }

    pub fn parse(code: &str) -> Option<Locale> {
        let code = code.trim().to_ascii_lowercase();
        if code == "zh" || code.starts_with("zh-") || code.starts_with("zh_") {
            Some(Locale::ZhCn)
        } else if code == "en" || code.starts_with("en-") || code.starts_with("en_") {
            Some(Locale::En)
        } else {
            None
        }
    }

    /// Picks the best language from an `Accept-Language` header, honouring
    /// q-values; unknown languages are skipped.
    pub fn from_accept_language(header: &str) -> Option<Locale> {
        let mut best: Option<(Locale, u32)> = None;
        for part in header.split(',') {
            let mut pieces = part.split(';');
            let tag = pieces.next().unwrap_or("").trim();
            let q = pieces
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.parse::<f32>().ok())
                .map(|q| (q.clamp(0.0, 1.0) * 1000.0) as u32)
                .unwrap_or(1000);
            if let Some(loc) = Locale::parse(tag)
                && q > 0
                && best.is_none_or(|(_, bq)| q > bq)
            {
                best = Some((loc, q));
            }
        }
        best.map(|(l, _)| l)
    }

    pub fn negotiate(cookie: Option<&str>, accept_language: Option<&str>) -> Locale {
        cookie
            .and_then(Locale::parse)
            .or_else(|| accept_language.and_then(Locale::from_accept_language))
            .unwrap_or_default()
    }

    /// The text for `key` in this language.
    pub fn t(self, key: &str) -> String {
        rust_i18n::t!(key, locale = self.code()).into_owned()
    }

    /// The text for `key`, or `None` when no locale has it.
    pub fn try_t(self, key: &str) -> Option<String> {
        crate::_rust_i18n_try_translate(self.code(), key).map(|c| c.into_owned())
    }

    /// The text for `key` with `%{name}` placeholders filled in.
    pub fn tf(self, key: &str, args: &[(&str, &str)]) -> String {
        let mut text = self.t(key);
        for (name, value) in args {
            text = text.replace(&format!("%{{{name}}}"), value);
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_with_q_values() {
        assert_eq!(
            Locale::from_accept_language("en-US,en;q=0.9,zh-CN;q=0.8"),
            Some(Locale::En)
        );
        assert_eq!(
            Locale::from_accept_language("fr-FR, zh-CN;q=0.5, en;q=0.4"),
            Some(Locale::ZhCn)
        );
        assert_eq!(Locale::from_accept_language("fr, de"), None);
        assert_eq!(Locale::from_accept_language("en;q=0"), None);
    }

    #[test]
    fn cookie_beats_header_and_chinese_is_default() {
        assert_eq!(Locale::negotiate(Some("en"), Some("zh-CN")), Locale::En);
        assert_eq!(Locale::negotiate(None, Some("en-GB")), Locale::En);
        assert_eq!(Locale::negotiate(Some("xx"), None), Locale::ZhCn);
    }
}
