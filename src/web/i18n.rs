//! The UI's own texts, one catalogue per language (`i18n/<code>.json`), and how a visit's
//! language is chosen. Field labels are not here: they come from the field schema.

use serde::Deserialize;

use crate::fields::FieldKind;
use crate::fields::labels::{self, Direction};

/// The languages the UI ships texts in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Lang {
    /// English.
    En,
    /// German.
    De,
    /// French.
    Fr,
    /// Spanish.
    Es,
    /// Portuguese.
    Pt,
    /// Russian.
    Ru,
    /// Arabic.
    Ar,
    /// Hebrew.
    He,
    /// Persian.
    Fa,
    /// Japanese.
    Ja,
    /// Chinese.
    Zh,
    /// Turkish.
    Tr,
}

impl Lang {
    /// Every shipped language, in the order the switcher lists them.
    pub const ALL: [Lang; 12] = [
        Lang::En,
        Lang::De,
        Lang::Fr,
        Lang::Es,
        Lang::Pt,
        Lang::Ru,
        Lang::Ar,
        Lang::He,
        Lang::Fa,
        Lang::Ja,
        Lang::Zh,
        Lang::Tr,
    ];

    /// The BCP 47 code (`<html lang>`, the cookie, the catalogue's file name).
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::De => "de",
            Lang::Fr => "fr",
            Lang::Es => "es",
            Lang::Pt => "pt",
            Lang::Ru => "ru",
            Lang::Ar => "ar",
            Lang::He => "he",
            Lang::Fa => "fa",
            Lang::Ja => "ja",
            Lang::Zh => "zh",
            Lang::Tr => "tr",
        }
    }

    /// The language's own name, as the switcher shows it.
    pub fn native_name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::De => "Deutsch",
            Lang::Fr => "Français",
            Lang::Es => "Español",
            Lang::Pt => "Português",
            Lang::Ru => "Русский",
            Lang::Ar => "العربية",
            Lang::He => "עברית",
            Lang::Fa => "فارسی",
            Lang::Ja => "日本語",
            Lang::Zh => "中文",
            Lang::Tr => "Türkçe",
        }
    }

    /// `rtl` or `ltr`, for `<html dir>`.
    pub fn dir(self) -> &'static str {
        match labels::direction_of(self.code()) {
            Direction::Rtl => "rtl",
            Direction::Ltr => "ltr",
        }
    }

    /// The shipped language of a locale tag (`pt-BR` → Portuguese), if any.
    pub fn of_tag(tag: &str) -> Option<Lang> {
        let base = labels::base_language(tag.trim());
        Lang::ALL
            .into_iter()
            .find(|lang| lang.code().eq_ignore_ascii_case(base))
    }

    /// The first shipped language among `tags`, best first.
    pub fn first_of<'a>(tags: impl IntoIterator<Item = &'a str>) -> Option<Lang> {
        tags.into_iter().find_map(Lang::of_tag)
    }

    fn source(self) -> &'static str {
        match self {
            Lang::En => include_str!("i18n/en.json"),
            Lang::De => include_str!("i18n/de.json"),
            Lang::Fr => include_str!("i18n/fr.json"),
            Lang::Es => include_str!("i18n/es.json"),
            Lang::Pt => include_str!("i18n/pt.json"),
            Lang::Ru => include_str!("i18n/ru.json"),
            Lang::Ar => include_str!("i18n/ar.json"),
            Lang::He => include_str!("i18n/he.json"),
            Lang::Fa => include_str!("i18n/fa.json"),
            Lang::Ja => include_str!("i18n/ja.json"),
            Lang::Zh => include_str!("i18n/zh.json"),
            Lang::Tr => include_str!("i18n/tr.json"),
        }
    }
}

/// Every UI text of one language. A catalogue missing a key, or naming one this struct does
/// not have, fails to load (at start-up, and in the unit test below).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct Texts {
    pub app_name: String,
    pub skip_to_content: String,
    pub sign_in: String,
    pub sign_in_title: String,
    pub sign_in_with_provider: String,
    pub dev_sign_in: String,
    pub dev_sign_in_note: String,
    pub dev_subject: String,
    pub dev_name: String,
    pub tenant: String,
    pub role: String,
    pub role_member: String,
    pub role_admin: String,
    pub role_owner: String,
    pub sign_out: String,
    pub my_card: String,
    pub people: String,
    pub language: String,
    pub switch_tenant: String,
    pub saved: String,
    pub read_only: String,
    pub search: String,
    pub all_roles: String,
    pub previous: String,
    pub next: String,
    pub no_results: String,
    pub forbidden_title: String,
    pub not_found_title: String,
    pub error_title: String,
    pub conflict: String,
    pub empty: String,
    pub no_name: String,
    pub choose: String,
    pub card_of: String,
    pub apply: String,
    pub sign_in_unavailable: String,
    pub fields_title: String,
    pub add_field: String,
    pub key: String,
    pub kind: String,
    pub label: String,
    pub required: String,
    pub access_owner: String,
    pub access_members: String,
    pub access_admins: String,
    pub access_hidden: String,
    pub access_read: String,
    pub access_edit: String,
    pub move_up: String,
    pub move_down: String,
    pub archive: String,
    pub restore: String,
    pub archived: String,
    pub from_templates: String,
    pub add: String,
    pub save: String,
    pub preview: String,
    pub builtin: String,
    pub validation: String,
    pub min_length: String,
    pub max_length: String,
    pub pattern: String,
    pub min_value: String,
    pub max_value: String,
    pub max_bytes: String,
    pub content_types: String,
    pub options: String,
    pub kind_short_text: String,
    pub kind_long_text: String,
    pub kind_image: String,
    pub kind_file: String,
    pub kind_switch: String,
    pub kind_single_choice: String,
    pub kind_multi_choice: String,
    pub kind_number: String,
    pub kind_integer: String,
    pub kind_date: String,
    pub kind_email: String,
    pub kind_phone: String,
    pub kind_url: String,
    pub kind_country: String,
    pub filter_any: String,
    pub filter_set: String,
    pub filter_unset: String,
    pub filter_yes: String,
    pub filter_no: String,
    pub filter_contains: String,
    pub new_field_preview: String,
}

impl Texts {
    /// A field kind's name in this language (the API's name stays the form value).
    pub fn kind_name(&self, kind: FieldKind) -> &str {
        match kind {
            FieldKind::ShortText => &self.kind_short_text,
            FieldKind::LongText => &self.kind_long_text,
            FieldKind::Image => &self.kind_image,
            FieldKind::File => &self.kind_file,
            FieldKind::Switch => &self.kind_switch,
            FieldKind::SingleChoice => &self.kind_single_choice,
            FieldKind::MultiChoice => &self.kind_multi_choice,
            FieldKind::Number => &self.kind_number,
            FieldKind::Integer => &self.kind_integer,
            FieldKind::Date => &self.kind_date,
            FieldKind::Email => &self.kind_email,
            FieldKind::Phone => &self.kind_phone,
            FieldKind::Url => &self.kind_url,
            FieldKind::Country => &self.kind_country,
        }
    }
}

/// The catalogues of every shipped language, parsed once at start-up.
pub struct Catalogue {
    /// In the order of [`Lang::ALL`], which is the order of `Lang`'s variants.
    texts: Vec<Texts>,
}

impl Catalogue {
    /// Parses every language's catalogue; an incomplete one is a start-up error, not a
    /// missing text on some page.
    pub fn load() -> anyhow::Result<Catalogue> {
        let texts = Lang::ALL
            .into_iter()
            .map(|lang| {
                serde_json::from_str(lang.source())
                    .map_err(|e| anyhow::anyhow!("UI texts {}: {e}", lang.code()))
            })
            .collect::<anyhow::Result<Vec<Texts>>>()?;
        Ok(Catalogue { texts })
    }

    /// The texts of `lang`.
    pub fn texts(&self, lang: Lang) -> &Texts {
        &self.texts[lang as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_has_every_key_and_no_empty_text() {
        let catalogue = Catalogue::load().expect("every catalogue parses with every key");
        for lang in Lang::ALL {
            let value: serde_json::Map<String, serde_json::Value> =
                serde_json::from_str(lang.source()).expect("a JSON object");
            for (key, text) in &value {
                let text = text.as_str().unwrap_or_default();
                assert!(!text.trim().is_empty(), "{}: {key} is empty", lang.code());
            }
            assert_eq!(catalogue.texts(lang).app_name, "UserProfile");
        }
        // `Catalogue::texts` indexes by variant: `ALL` must list them in declaration order.
        for (at, lang) in Lang::ALL.into_iter().enumerate() {
            assert_eq!(lang as usize, at);
        }
    }

    #[test]
    fn every_kind_has_a_name_of_its_own_in_every_language() {
        use sea_orm::Iterable;
        let catalogue = Catalogue::load().expect("every catalogue parses");
        for lang in Lang::ALL {
            let texts = catalogue.texts(lang);
            let names: std::collections::HashSet<&str> = FieldKind::iter()
                .map(|kind| texts.kind_name(kind))
                .collect();
            assert_eq!(names.len(), FieldKind::iter().count(), "{}", lang.code());
        }
    }

    #[test]
    fn languages_are_picked_from_tags_and_rtl_ones_say_so() {
        assert_eq!(Lang::of_tag("pt-BR"), Some(Lang::Pt));
        assert_eq!(Lang::first_of(["xx", "de-AT", "fr"]), Some(Lang::De));
        assert_eq!(Lang::of_tag("nl"), None);
        let rtl: Vec<&str> = Lang::ALL
            .into_iter()
            .filter(|l| l.dir() == "rtl")
            .map(Lang::code)
            .collect();
        assert_eq!(rtl, ["ar", "he", "fa"]);
    }
}
