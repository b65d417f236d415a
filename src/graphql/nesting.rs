//! A bound on how deeply a GraphQL document nests, checked in one linear pass before the parser
//! sees it. async-graphql-parser 7.2.1 recurses once per level of a value literal (objects and
//! lists in arguments, variable defaults and directive arguments) without any limit: about
//! 1 500 levels in a 15 KB anonymous request overflowed a worker's stack and aborted the process.

use async_graphql::Pos;

use crate::config::Limits;
use crate::error::Error;

/// Nesting allowed beyond the selection depth and the app profile depth: the operation's own
/// braces, argument parentheses, inline fragments and input objects around a JSON document.
const HEADROOM: usize = 16;

/// The most any configuration may allow, the same as serde_json's limit for JSON bodies: the
/// parser overflows a worker thread's 2 MiB stack at about 1 500 levels in release builds and
/// 320 in debug builds, where the tests parse this many.
pub const CEILING: usize = 128;

/// How deeply a document may nest `{`, `[` and `(`: enough for the deepest selection
/// (`limits.query_depth`) holding the deepest app profile literal (`limits.app_profile_depth`),
/// plus [`HEADROOM`], at most [`CEILING`]. 64 with the default limits.
pub fn max_nesting(limits: &Limits) -> usize {
    (limits.query_depth + limits.app_profile_depth + HEADROOM).min(CEILING)
}

/// Refuses a document that nests brackets deeper than `max` before anything recursive reads it.
pub fn check(document: &str, max: usize) -> Result<(), (Error, Pos)> {
    match first_too_deep(document, max) {
        None => Ok(()),
        Some(offset) => Err((
            Error::bad_input(format!(
                "the document nests `{{`, `[` and `(` deeper than {max} levels"
            )),
            position(document, offset),
        )),
    }
}

/// The byte offset of the first bracket that opens level `max + 1`, outside strings, block
/// strings and comments. Closers of any kind close a level: a mismatched one is a syntax
/// error that stops the parser there anyway.
fn first_too_deep(document: &str, max: usize) -> Option<usize> {
    let bytes = document.as_bytes();
    let mut depth = 0usize;
    let mut at = 0;
    while at < bytes.len() {
        match bytes[at] {
            b'{' | b'[' | b'(' => {
                depth += 1;
                if depth > max {
                    return Some(at);
                }
            }
            b'}' | b']' | b')' => depth = depth.saturating_sub(1),
            b'#' => {
                at = comment_end(bytes, at);
                continue;
            }
            b'"' => {
                at = string_end(bytes, at);
                continue;
            }
            _ => {}
        }
        at += 1;
    }
    None
}

/// The offset of the line terminator that ends the comment starting at `start`.
fn comment_end(bytes: &[u8], start: usize) -> usize {
    bytes[start..]
        .iter()
        .position(|&b| b == b'\n' || b == b'\r')
        .map_or(bytes.len(), |length| start + length)
}

/// The offset just past the string or block string starting at `start`. A plain string also
/// ends at a line terminator, where the parser fails: the scan never skips text the parser
/// would read as brackets.
fn string_end(bytes: &[u8], start: usize) -> usize {
    const BLOCK: &[u8] = b"\"\"\"";
    const ESCAPED_BLOCK: &[u8] = b"\\\"\"\"";
    if bytes[start..].starts_with(BLOCK) {
        let mut at = start + BLOCK.len();
        while at < bytes.len() {
            if bytes[at..].starts_with(ESCAPED_BLOCK) {
                at += ESCAPED_BLOCK.len();
            } else if bytes[at..].starts_with(BLOCK) {
                return at + BLOCK.len();
            } else {
                at += 1;
            }
        }
        return bytes.len();
    }
    let mut at = start + 1;
    while at < bytes.len() {
        match bytes[at] {
            b'\\' => at += 2,
            b'"' => return at + 1,
            b'\n' | b'\r' => return at,
            _ => at += 1,
        }
    }
    bytes.len()
}

/// The line and column (1-based, in characters) of a byte offset.
fn position(document: &str, offset: usize) -> Pos {
    let before = &document[..offset];
    let line_start = before.rfind(['\n', '\r']).map_or(0, |at| at + 1);
    Pos {
        line: before.matches('\n').count() + 1,
        column: before[line_start..].chars().count() + 1,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn depth_ok(document: &str, max: usize) -> bool {
        first_too_deep(document, max).is_none()
    }

    /// `{ f(a: [[…[1]…]]) { id } }` with `levels` list levels.
    fn nested_list(levels: usize) -> String {
        format!(
            "{{ f(a: {}1{}) {{ id }} }}",
            "[".repeat(levels),
            "]".repeat(levels)
        )
    }

    #[test]
    fn counts_every_kind_of_bracket() {
        // `{`, `(` and the list levels.
        assert!(depth_ok(&nested_list(3), 5));
        assert!(!depth_ok(&nested_list(4), 5));
        assert!(depth_ok("{ a { b { c } } }", 3));
        assert!(!depth_ok("{ a { b { c { d } } } }", 3));
        assert!(!depth_ok("query($v: In = {a: {b: 1}}) { x }", 2));
        assert!(!depth_ok("{ x @skip(if: {a: [1]}) }", 3));
    }

    #[test]
    fn closed_levels_do_not_add_up() {
        let wide = "{ a(x: [1]) b(y: {z: 1}) c { d } }".repeat(1000);
        assert!(depth_ok(&wide, 3));
    }

    #[test]
    fn brackets_in_strings_and_comments_do_not_count() {
        let document = format!(
            "{{ f(a: \"{0}\", b: \"\"\"{0}\\\"\"\"{0}\"\"\", c: \"\\\"{0}\") # {0}\n }}",
            "[{(".repeat(100)
        );
        assert!(depth_ok(&document, 2));
    }

    #[test]
    fn a_string_cut_by_a_line_end_hides_nothing() {
        // The parser stops at the line end; the brackets after it count.
        assert!(!depth_ok("{ f(a: \"open\n [[[[ ) }", 4));
        assert!(!depth_ok("{ f(a: \"open\r [[[[ ) }", 4));
        // An unterminated string or comment ends the document.
        assert!(depth_ok("{ f(a: \"[[[[[", 2));
        assert!(depth_ok("{ # [[[[[", 1));
        assert!(depth_ok("{ f(a: \"\"\" [[[[[", 2));
    }

    #[test]
    fn the_refusal_points_at_the_bracket() {
        let (error, pos) = check("{\n  a { b }\n  é(x: [[1]])\n}", 3).unwrap_err();
        assert_eq!(error.code(), "BAD_USER_INPUT");
        assert!(error.message().contains("deeper than 3 levels"));
        assert_eq!(pos, Pos { line: 3, column: 9 });
    }

    #[test]
    fn the_limit_fits_the_default_limits() {
        assert_eq!(max_nesting(&Limits::default()), 64);
        let huge = Limits {
            query_depth: 10_000,
            ..Limits::default()
        };
        assert_eq!(max_nesting(&huge), CEILING);
    }

    /// The parser at the ceiling, on a thread with a tokio worker's stack (2 MiB): every kind
    /// of value literal it recurses in.
    #[test]
    fn the_parser_keeps_within_a_worker_stack_at_the_ceiling() {
        let levels = CEILING - 2;
        let object = format!("{}1{}", "{a: ".repeat(levels), "}".repeat(levels));
        let list = format!("{}1{}", "[".repeat(levels), "]".repeat(levels));
        let documents = [
            format!("{{ f(a: {object}) }}"),
            format!("{{ f(a: {list}) }}"),
            format!("query($v: In = {list}) {{ f }}"),
            format!("{{ f @skip(if: {object}) }}"),
        ];
        for document in documents {
            assert!(check(&document, CEILING).is_ok());
            let parsed = std::thread::Builder::new()
                .stack_size(2 * 1024 * 1024)
                .spawn(move || async_graphql::parser::parse_query(&document).is_ok())
                .unwrap()
                .join()
                .unwrap();
            assert!(parsed);
        }
    }
}
