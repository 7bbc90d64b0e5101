//! Every string a user sees, in English and Simplified Chinese.
//!
//! Strings are keys of [`Msg`]; the `messages!` table (`table.rs`, grouped by where a string
//! is shown) requires both languages for every key, so a missing translation does not
//! compile, and the tests check that none is left empty or untranslated. Placeholders are
//! written `{name}` and filled by [`Lang::fmt`]. Socket call names (`connect()`, `recv()`) are
//! code and stay as they are in both languages. `describe` turns engine states, errors and
//! results into words.

use std::fmt::Display;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum Lang {
    #[default]
    En,
    Zh,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Zh];

    /// The language's own name, as shown in the language picker.
    pub fn native_name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::Zh => "简体中文",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        match code.trim().to_ascii_lowercase().as_str() {
            "en" | "english" => Some(Lang::En),
            "zh" | "zh-cn" | "zh_cn" | "cn" | "chinese" => Some(Lang::Zh),
            _ => None,
        }
    }

    /// The language for a system locale (`zh-CN`, `zh_TW.UTF-8`, `en-US`, ...): any `zh*`
    /// is Chinese, anything else (or none) English.
    pub fn from_locale(locale: Option<&str>) -> Self {
        match locale {
            Some(l) if l.trim().to_ascii_lowercase().starts_with("zh") => Lang::Zh,
            _ => Lang::En,
        }
    }

    pub fn t(self, msg: Msg) -> &'static str {
        match self {
            Lang::En => msg.en(),
            Lang::Zh => msg.zh(),
        }
    }

    /// The message with each `{name}` replaced by its value.
    pub fn fmt(self, msg: Msg, args: &[(&str, &dyn Display)]) -> String {
        let mut out = self.t(msg).to_owned();
        for (name, value) in args {
            out = out.replace(&format!("{{{name}}}"), &value.to_string());
        }
        out
    }
}

macro_rules! messages {
    ($($key:ident => $en:literal, $zh:literal;)*) => {
        /// A user-visible string.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Msg { $($key,)* }

        impl Msg {
            pub const ALL: &'static [Msg] = &[$(Msg::$key,)*];

            pub fn en(self) -> &'static str {
                match self { $(Msg::$key => $en,)* }
            }

            pub fn zh(self) -> &'static str {
                match self { $(Msg::$key => $zh,)* }
            }
        }
    };
}

mod table;
pub use table::Msg;

mod describe;
pub use describe::*;

#[cfg(test)]
mod tests {
    use super::*;

    /// Strings that are the same in both languages on purpose.
    const SAME_IN_BOTH: &[Msg] = &[];

    fn placeholders(s: &str) -> Vec<String> {
        let mut out: Vec<String> = s
            .split('{')
            .skip(1)
            .filter_map(|rest| rest.split_once('}').map(|(name, _)| name.to_owned()))
            .collect();
        out.sort();
        out
    }

    #[test]
    fn every_string_has_both_languages() {
        for &msg in Msg::ALL {
            let (en, zh) = (msg.en(), msg.zh());
            assert!(!en.trim().is_empty(), "{msg:?} has no English");
            assert!(!zh.trim().is_empty(), "{msg:?} has no Chinese");
            if !SAME_IN_BOTH.contains(&msg) {
                assert_ne!(en, zh, "{msg:?} is not translated");
                assert!(
                    zh.chars().any(|c| ('\u{4E00}'..='\u{9FFF}').contains(&c)),
                    "{msg:?}: the Chinese text has no Chinese in it: {zh}"
                );
            }
            assert_eq!(
                placeholders(en),
                placeholders(zh),
                "{msg:?}: placeholders differ"
            );
        }
    }

    #[test]
    fn every_chinese_character_is_in_the_bundled_font() {
        let font = include_bytes!("../../assets/fonts/NotoSansSC-GB2312.otf");
        let covered = crate::fonts::covered_chars(font);
        for &msg in Msg::ALL {
            for ch in msg.zh().chars().filter(|c| !c.is_ascii()) {
                assert!(
                    covered.contains(&ch),
                    "{msg:?}: {ch:?} is not in the bundled font"
                );
            }
        }
    }

    #[test]
    fn fmt_fills_placeholders() {
        assert_eq!(
            Lang::En.fmt(Msg::PayloadSize, &[("n", &5)]),
            "5 bytes will be sent"
        );
        assert_eq!(
            Lang::Zh.fmt(Msg::PayloadSize, &[("n", &5)]),
            "将发送 5 字节"
        );
        assert_eq!(Lang::from_code("zh"), Some(Lang::Zh));
        assert_eq!(Lang::from_code("fr"), None);
    }
}
