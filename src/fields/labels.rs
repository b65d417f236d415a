//! Locales: negotiation from `Accept-Language` or a `locale` argument, the label fallback
//! chain (requested locale → its base language → tenant default → the key in Title Case) and
//! text direction.

use std::collections::BTreeMap;

/// Languages written right to left (BCP 47 primary subtags).
const RTL_LANGUAGES: &[&str] = &[
    "ar", "arc", "ckb", "dv", "fa", "he", "iw", "ks", "ps", "sd", "ug", "ur", "yi",
];

/// Text direction of a label.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Left to right.
    Ltr,
    /// Right to left.
    Rtl,
}

/// A text in the best available locale.
#[derive(Clone, Debug, PartialEq)]
pub struct Localized {
    /// The text.
    pub text: String,
    /// The locale it is in; `None` when it is the key's Title Case fallback.
    pub locale: Option<String>,
    /// Its direction.
    pub direction: Direction,
}

/// The caller's preferred locales, best first.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Preferences(pub Vec<String>);

impl Preferences {
    /// From an explicit `locale` argument, else the `Accept-Language` header.
    pub fn from_request(argument: Option<&str>, accept_language: Option<&str>) -> Preferences {
        match argument.filter(|a| is_locale(a)) {
            Some(locale) => Preferences(vec![locale.to_owned()]),
            None => Preferences(
                accept_language
                    .map(parse_accept_language)
                    .unwrap_or_default(),
            ),
        }
    }
}

/// Whether `tag` looks like a BCP 47 language tag (`en`, `pt-BR`, `zh-Hant-TW`).
pub fn is_locale(tag: &str) -> bool {
    let mut parts = tag.split('-');
    let primary_ok = parts
        .next()
        .is_some_and(|p| (2..=3).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphabetic()));
    primary_ok
        && tag.len() <= 35
        && parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// Parses `Accept-Language` (`fr-CH, fr;q=0.9, en;q=0.8, *;q=0.5`) into locales, best first.
pub fn parse_accept_language(header: &str) -> Vec<String> {
    let mut weighted: Vec<(f32, usize, String)> = header
        .split(',')
        .enumerate()
        .filter_map(|(index, item)| {
            let mut pieces = item.trim().split(';');
            let tag = pieces.next()?.trim();
            let quality = pieces
                .find_map(|p| {
                    p.trim()
                        .strip_prefix("q=")
                        .and_then(|q| q.parse::<f32>().ok())
                })
                .unwrap_or(1.0);
            (is_locale(tag) && quality > 0.0).then(|| (quality, index, tag.to_owned()))
        })
        .collect();
    weighted.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    weighted.into_iter().map(|(_, _, tag)| tag).collect()
}

/// The base language of a locale: `pt` for `pt-BR`.
pub fn base_language(locale: &str) -> &str {
    locale.split('-').next().unwrap_or(locale)
}

/// The direction of text in `locale`.
pub fn direction_of(locale: &str) -> Direction {
    if RTL_LANGUAGES.contains(&base_language(locale).to_ascii_lowercase().as_str()) {
        Direction::Rtl
    } else {
        Direction::Ltr
    }
}

/// Picks the text for the first preferred locale that has one (exact, then base language),
/// then the tenant default; `None` when no text fits.
pub fn pick(
    texts: &BTreeMap<String, String>,
    preferences: &Preferences,
    default_locale: &str,
) -> Option<Localized> {
    let wanted = preferences
        .0
        .iter()
        .map(String::as_str)
        .chain(std::iter::once(default_locale));
    for locale in wanted {
        let found = find(texts, locale).or_else(|| find(texts, base_language(locale)));
        if let Some((found_locale, text)) = found {
            return Some(Localized {
                text: text.clone(),
                direction: direction_of(found_locale),
                locale: Some(found_locale.clone()),
            });
        }
    }
    None
}

fn find<'a>(texts: &'a BTreeMap<String, String>, locale: &str) -> Option<(&'a String, &'a String)> {
    texts.iter().find(|(l, _)| l.eq_ignore_ascii_case(locale))
}

/// A label: the best text, or the key in Title Case (`job_title` → `Job Title`).
pub fn label(
    labels: &BTreeMap<String, String>,
    key: &str,
    preferences: &Preferences,
    default_locale: &str,
) -> Localized {
    pick(labels, preferences, default_locale).unwrap_or_else(|| Localized {
        text: title_case(key),
        locale: None,
        direction: Direction::Ltr,
    })
}

/// `job_title` → `Job Title`.
pub fn title_case(key: &str) -> String {
    key.split('_')
        .filter(|w| !w.is_empty())
        .map(|word| {
            let mut chars = word.chars();
            chars
                .next()
                .map(|first| first.to_uppercase().chain(chars).collect::<String>())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The locale a response is given in: the first preferred locale (or its base language) that
/// the tenant has any text in, else the tenant default.
pub fn negotiate<'a>(
    available: impl Iterator<Item = &'a str> + Clone,
    preferences: &Preferences,
    default_locale: &str,
) -> String {
    for wanted in &preferences.0 {
        for candidate in [wanted.as_str(), base_language(wanted)] {
            if let Some(found) = available
                .clone()
                .find(|a| a.eq_ignore_ascii_case(candidate))
            {
                return found.to_owned();
            }
        }
    }
    default_locale.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts() -> BTreeMap<String, String> {
        [
            ("en", "Job title"),
            ("ar", "المسمى الوظيفي"),
            ("pt", "Cargo"),
            ("de", "Berufsbezeichnung"),
        ]
        .into_iter()
        .map(|(l, t)| (l.to_owned(), t.to_owned()))
        .collect()
    }

    #[test]
    fn accept_language_is_ordered_by_quality() {
        assert_eq!(
            parse_accept_language("fr-CH, fr;q=0.9, en;q=0.8, de;q=0.95, *;q=0.5, xx;q=0"),
            ["fr-CH", "de", "fr", "en"]
        );
    }

    #[test]
    fn the_fallback_chain_goes_from_locale_to_base_to_default_to_key() {
        let prefs = |l: &[&str]| Preferences(l.iter().map(|s| s.to_string()).collect());
        assert_eq!(
            label(&texts(), "job_title", &prefs(&["pt-BR"]), "en").text,
            "Cargo"
        );
        let arabic = label(&texts(), "job_title", &prefs(&["ar-EG"]), "en");
        assert_eq!(
            (arabic.locale.as_deref(), arabic.direction),
            (Some("ar"), Direction::Rtl)
        );
        assert_eq!(
            label(&texts(), "job_title", &prefs(&["ja"]), "de").text,
            "Berufsbezeichnung"
        );
        let none = label(&BTreeMap::new(), "job_title", &prefs(&["ja"]), "de");
        assert_eq!((none.text.as_str(), none.locale), ("Job Title", None));
    }

    #[test]
    fn hebrew_and_persian_are_right_to_left() {
        assert_eq!(direction_of("he-IL"), Direction::Rtl);
        assert_eq!(direction_of("fa"), Direction::Rtl);
        assert_eq!(direction_of("en-US"), Direction::Ltr);
    }
}
