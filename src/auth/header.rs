//! The JOSE header of a bearer token: which algorithm signed it, with which key.

use std::str::FromStr;

use base64::Engine;
use jsonwebtoken::Algorithm;
use serde_json::{Map, Value};

use crate::error::Error;

/// Reads `alg` and `kid` from the token header, refusing unsigned tokens (`alg: none`) and
/// unknown algorithms by name, whichever issuer the token claims.
pub fn signing_header(token: &str) -> Result<(Algorithm, Option<String>), Error> {
    let malformed = || Error::Unauthenticated("the bearer token is not a well-formed JWT".into());
    let segment = token.split('.').next().ok_or_else(malformed)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(segment.trim_end_matches('='))
        .map_err(|_| malformed())?;
    let header: Map<String, Value> = serde_json::from_slice(&bytes).map_err(|_| malformed())?;
    let alg = header.get("alg").and_then(Value::as_str).unwrap_or("none");
    if alg.eq_ignore_ascii_case("none") {
        return Err(Error::Unauthenticated(
            "unsigned tokens (alg: none) are refused".into(),
        ));
    }
    let algorithm = Algorithm::from_str(alg).map_err(|_| {
        Error::Unauthenticated(format!(
            "the token's signing algorithm {alg:?} is not supported"
        ))
    })?;
    let kid = header.get("kid").and_then(Value::as_str).map(str::to_owned);
    Ok((algorithm, kid))
}
