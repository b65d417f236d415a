//! Identifiers chosen by people (tenant slugs, field keys, choice values, app ids): one
//! [`Syntax`] type checks them all, so each rule is a constant, not a hand-written loop.

use std::fmt::Write as _;

use serde::Serialize;

use crate::error::{Error, InputProblem};

/// What an identifier may start with.
#[derive(Clone, Copy, Debug)]
pub enum First {
    /// A letter a–z.
    Letter,
    /// A letter a–z or a digit.
    LetterOrDigit,
}

/// The shape of an identifier: lower-case ASCII letters, digits and some punctuation, within
/// a length range.
#[derive(Clone, Copy, Debug)]
pub struct Syntax {
    /// What it is called in messages.
    pub noun: &'static str,
    /// Fewest characters.
    pub min: usize,
    /// Most characters.
    pub max: usize,
    /// Punctuation allowed besides a–z and 0–9.
    pub punctuation: &'static [u8],
    /// What the first character may be.
    pub first: First,
    /// Whether the last character may be punctuation.
    pub punctuation_last: bool,
}

/// A tenant slug: also accepted in `X-Tenant-Id`.
pub const TENANT_SLUG: Syntax = Syntax {
    noun: "tenant slug",
    min: 2,
    max: 64,
    punctuation: b"-",
    first: First::LetterOrDigit,
    punctuation_last: true,
};

/// A field key (and a choice option's stored value).
pub const FIELD_KEY: Syntax = Syntax {
    noun: "field key",
    min: 1,
    max: 64,
    punctuation: b"_",
    first: First::Letter,
    punctuation_last: false,
};

/// An app id.
pub const APP_ID: Syntax = Syntax {
    noun: "app id",
    min: 1,
    max: 64,
    punctuation: b"._-",
    first: First::LetterOrDigit,
    punctuation_last: true,
};

impl Syntax {
    /// Whether `text` has this shape.
    pub fn accepts(&self, text: &str) -> bool {
        let bytes = text.as_bytes();
        let allowed =
            |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit() || self.punctuation.contains(b);
        let first_ok = bytes.first().is_some_and(|b| match self.first {
            First::Letter => b.is_ascii_lowercase(),
            First::LetterOrDigit => b.is_ascii_lowercase() || b.is_ascii_digit(),
        });
        let last_ok =
            self.punctuation_last || bytes.last().is_some_and(|b| !self.punctuation.contains(b));
        (self.min..=self.max).contains(&bytes.len())
            && first_ok
            && last_ok
            && bytes.iter().all(allowed)
    }

    /// `Ok` when `text` has this shape, else the message saying what is wrong and the rule.
    pub fn check(&self, text: &str) -> Result<(), String> {
        if self.accepts(text) {
            return Ok(());
        }
        Err(format!("invalid {} {text:?}: {}", self.noun, self.rule()))
    }

    /// The rule in words, for messages and documentation.
    pub fn rule(&self) -> String {
        let mut rule = format!("use {} to {} characters a-z, 0-9", self.min, self.max);
        for p in self.punctuation {
            let _ = write!(rule, ", '{}'", char::from(*p));
        }
        rule.push_str(match self.first {
            First::Letter => ", starting with a letter",
            First::LetterOrDigit => ", starting with a letter or digit",
        });
        if !self.punctuation_last {
            rule.push_str(", not ending with punctuation");
        }
        rule
    }
}

/// A field key: lowercase a–z, digits and `_`, starting with a letter, not ending with `_`,
/// at most 64 characters. Only valid keys can be constructed.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct FieldKey(String);

impl FieldKey {
    /// Checks and wraps a key.
    pub fn parse(text: &str) -> Result<FieldKey, Error> {
        match FIELD_KEY.check(text) {
            Ok(()) => Ok(FieldKey(text.to_owned())),
            Err(message) => Err(Error::BadUserInput {
                message,
                problems: vec![InputProblem {
                    field: text.to_owned(),
                    message: FIELD_KEY.rule(),
                }],
            }),
        }
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Whether `text` follows the key rules (also used for choice option values).
pub fn is_valid_key(text: &str) -> bool {
    FIELD_KEY.accepts(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_identifier_follows_its_rule() {
        let cases: &[(Syntax, &[&str], &[&str])] = &[
            (
                TENANT_SLUG,
                &["acme", "a1", "9lives", "acme-eu", "acme-"],
                &["a", "-acme", "Acme", "ac_me", "ac me", ""],
            ),
            (
                FIELD_KEY,
                &["a", "job_title", "x9", "phone2_work"],
                &["", "9a", "_a", "a_", "Job", "a-b", &"a".repeat(65)],
            ),
            (
                APP_ID,
                &["crm", "com.example.app", "9app", "a_b-c.d"],
                &["", ".app", "-app", "App", "a b", &"a".repeat(65)],
            ),
        ];
        for (syntax, good, bad) in cases {
            for text in *good {
                assert!(syntax.accepts(text), "{} {text:?}", syntax.noun);
            }
            for text in *bad {
                assert!(!syntax.accepts(text), "{} {text:?}", syntax.noun);
                assert!(syntax.check(text).is_err_and(|m| m.contains(syntax.noun)));
            }
        }
    }
}
