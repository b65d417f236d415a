//! Refused documents, each located by a JSON pointer into the request's arguments, and their
//! one mapping to a client error.

use crate::error::{Error, InputProblem};

/// How many problems one error lists; the rest are counted.
pub const MAX_LISTED: usize = 50;

/// One reason a value in the request is refused.
#[derive(Clone, Debug, PartialEq)]
pub struct Problem {
    /// JSON pointer of the offending value in the arguments, e.g. `/profiles/3/data/theme`.
    pub pointer: String,
    /// What is wrong.
    pub kind: ProblemKind,
}

/// What is wrong with a value.
#[derive(Clone, Debug, PartialEq)]
pub enum ProblemKind {
    /// A document over the size limit.
    TooLarge {
        /// Bytes counted (counting stops just past the limit).
        bytes: usize,
        /// The limit.
        limit: usize,
    },
    /// Any other invalid value, explained.
    Invalid(String),
}

impl Problem {
    /// An invalid value at `pointer`.
    pub fn invalid(pointer: impl Into<String>, message: impl Into<String>) -> Self {
        Problem {
            pointer: pointer.into(),
            kind: ProblemKind::Invalid(message.into()),
        }
    }

    /// A document at `pointer` larger than `limit` bytes.
    pub fn too_large(pointer: impl Into<String>, bytes: usize, limit: usize) -> Self {
        Problem {
            pointer: pointer.into(),
            kind: ProblemKind::TooLarge { bytes, limit },
        }
    }

    /// The same problem, located inside the value at `prefix` (a JSON pointer).
    pub fn under(mut self, prefix: &str) -> Self {
        self.pointer.insert_str(0, prefix);
        self
    }

    /// The explanation, without the pointer.
    pub fn message(&self) -> String {
        match &self.kind {
            ProblemKind::TooLarge { limit, .. } => {
                format!("the document is larger than the limit of {limit} bytes of compact JSON")
            }
            ProblemKind::Invalid(message) => message.clone(),
        }
    }
}

/// Turns problems into one client error: PAYLOAD_TOO_LARGE when any document is over the size
/// limit (naming them), else BAD_USER_INPUT with one entry per problem, whose `field` is the
/// JSON pointer.
pub fn into_error(mut problems: Vec<Problem>) -> Error {
    let oversized: Vec<&Problem> = problems
        .iter()
        .filter(|p| matches!(p.kind, ProblemKind::TooLarge { .. }))
        .collect();
    if let Some(first) = oversized.first() {
        return Error::PayloadTooLarge(format!(
            "{}: {}{}",
            first.pointer,
            first.message(),
            listing(&oversized[1..])
        ));
    }
    let total = problems.len();
    problems.truncate(MAX_LISTED);
    let Some(first) = problems.first() else {
        return Error::bad_input("invalid input");
    };
    let mut message = format!("{}: {}", first.pointer, first.message());
    if total > 1 {
        message.push_str(&format!(" (and {} more problems)", total - 1));
    }
    Error::BadUserInput {
        message,
        problems: problems
            .into_iter()
            .map(|p| InputProblem {
                message: p.message(),
                field: p.pointer,
            })
            .collect(),
    }
}

/// The error of a single problem.
pub fn one(problem: Problem) -> Error {
    into_error(vec![problem])
}

fn listing(more: &[&Problem]) -> String {
    match more.len() {
        0 => String::new(),
        n => {
            let named: Vec<&str> = more
                .iter()
                .take(MAX_LISTED)
                .map(|p| p.pointer.as_str())
                .collect();
            format!("; also {n} more: {}", named.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_become_bad_user_input_with_pointers() {
        let error = into_error(vec![
            Problem::invalid("/profiles/0/data", "must be a JSON object, not an array"),
            Problem::invalid("/profiles/2/data/age", "\"x\" is not of type \"integer\""),
        ]);
        let Error::BadUserInput { message, problems } = error else {
            panic!("expected BAD_USER_INPUT");
        };
        assert!(message.starts_with("/profiles/0/data: must be a JSON object"));
        assert!(message.contains("1 more"));
        assert_eq!(problems[1].field, "/profiles/2/data/age");
    }

    #[test]
    fn an_oversized_document_wins() {
        let error = into_error(vec![
            Problem::invalid("/profiles/0/data", "bad"),
            Problem::too_large("/profiles/1/data", 70, 64),
        ]);
        assert_eq!(error.code(), "PAYLOAD_TOO_LARGE");
        assert!(error.message().contains("/profiles/1/data"));
    }

    #[test]
    fn long_lists_are_cut() {
        let many = (0..200)
            .map(|i| Problem::invalid(format!("/profiles/{i}/data"), "bad"))
            .collect();
        let Error::BadUserInput { problems, message } = into_error(many) else {
            panic!("expected BAD_USER_INPUT");
        };
        assert_eq!(problems.len(), MAX_LISTED);
        assert!(message.contains("199 more"));
    }
}
