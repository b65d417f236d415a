//! One page request: its web session (from the cookie), the domain [`Session`] resolved from
//! the session's credential through the same sign-in path as a bearer token, and its language.
//! Also the CSRF guard every state-changing request passes.

use std::sync::Arc;

use super::i18n::Lang;
use super::store::{self, SessionId, WebSession};
use crate::AppState;
use crate::auth::Principal;
use crate::error::{Error, Result};
use crate::fields::labels;
use crate::session::Session;
use axum::body::Body;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "up_session";
/// The language cookie's name.
pub const LANG_COOKIE: &str = "up_lang";
/// The form field that carries the CSRF token in plain form posts.
pub const CSRF_FIELD: &str = "csrf";
/// The header htmx sends the CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// A page request as the web layer sees it.
pub struct Visit {
    /// The web session, if the browser has one.
    pub web_session: Option<WebSession>,
    /// What the request may do: the same session GraphQL resolvers get.
    pub session: Session,
    /// The language texts and labels are shown in.
    pub lang: Lang,
}

/// The web session the CSRF guard already loaded, handed to the handler.
#[derive(Clone)]
struct Loaded(Option<WebSession>);

impl Visit {
    /// Resolves the request's web session and domain session. An access token that no longer
    /// verifies (expired, revoked key) is renewed with the session's refresh token; without
    /// one, or when the provider refuses, the visit is anonymous, so it signs in again.
    async fn load(state: &AppState, parts: &Parts) -> Result<Visit> {
        let web_session = match parts.extensions.get::<Loaded>() {
            Some(Loaded(web_session)) => web_session.clone(),
            None => find_web_session(state, &parts.headers).await?,
        };
        let session = match web_session.as_ref() {
            Some(web_session) => signed_in(state, web_session).await?,
            None => Session::anonymous(),
        };
        let lang = choose_lang(&parts.headers, &session);
        Ok(Visit {
            web_session,
            session,
            lang,
        })
    }

    /// The session's CSRF token, for forms and htmx's header.
    pub fn csrf(&self) -> &str {
        let session = self.web_session.as_ref();
        session.map_or("", |s| s.row.csrf_token.as_str())
    }

    /// Whether someone is signed in.
    pub fn signed_in(&self) -> bool {
        self.session.principal().is_ok()
    }
}

impl FromRequestParts<Arc<AppState>> for Visit {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> std::result::Result<Visit, Response> {
        Visit::load(state, parts)
            .await
            .map_err(|error| (error.status(), error.message()).into_response())
    }
}

async fn find_web_session(state: &AppState, headers: &HeaderMap) -> Result<Option<WebSession>> {
    match cookie(headers, SESSION_COOKIE).and_then(SessionId::parse) {
        Some(id) => store::find(&state.db, id).await,
        None => Ok(None),
    }
}

/// The session of the web session's access token (renewed if it expired) in its chosen tenant
/// (else the primary one).
async fn signed_in(state: &AppState, web_session: &WebSession) -> Result<Session> {
    let Some(tokens) = web_session.tokens() else {
        return Ok(Session::anonymous());
    };
    let mut principal = verified(state, &tokens.access).await?;
    if principal.is_none()
        && let Some(renewed) = state.web.renew(&state.db, web_session, &tokens).await?
    {
        principal = verified(state, &renewed.access).await?;
    }
    let Some(principal) = principal else {
        return Ok(Session::anonymous());
    };
    let wanted = web_session.row.tenant.as_deref();
    let session = Session::resolve(&state.db, principal.clone(), wanted).await?;
    if wanted.is_some() && session.active().is_err() {
        // The chosen tenant is gone (membership ended): fall back to the primary one.
        return Session::resolve(&state.db, principal, None).await;
    }
    Ok(session)
}

/// The principal of `token`, or `None` when it does not verify (expired, revoked, refused).
async fn verified(state: &AppState, token: &str) -> Result<Option<Principal>> {
    match state
        .signin
        .principal(state.databases(), &state.auth, token)
        .await
    {
        Ok(principal) => Ok(Some(principal)),
        Err(Error::Unauthenticated(_) | Error::Forbidden(_)) => Ok(None),
        Err(other) => Err(other),
    }
}

/// The visit's language: the language cookie, else the user's `locale` claim, else
/// `Accept-Language`, else the active tenant's default, else English.
fn choose_lang(headers: &HeaderMap, session: &Session) -> Lang {
    let chosen = cookie(headers, LANG_COOKIE).and_then(Lang::of_tag);
    let claimed = match session.principal() {
        Ok(Principal::User(user)) => user
            .user
            .claims
            .get("locale")
            .and_then(|v| v.as_str())
            .and_then(Lang::of_tag),
        _ => None,
    };
    let accepted = || {
        let header = headers.get(header::ACCEPT_LANGUAGE)?.to_str().ok()?;
        let tags = labels::parse_accept_language(header);
        Lang::first_of(tags.iter().map(String::as_str))
    };
    let tenant_default = || {
        let tenant = session.active().ok()?.tenant();
        Lang::of_tag(&tenant.default_locale)
    };
    chosen
        .or(claimed)
        .or_else(accepted)
        .or_else(tenant_default)
        .unwrap_or(Lang::En)
}

/// The value of cookie `name`, if the request has it.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// Refuses a state-changing request (any method but GET and HEAD) whose CSRF token, from the
/// `X-CSRF-Token` header or else the `csrf` form field, is not its web session's: 403, before
/// the handler runs. The web session it loaded is handed on to the handler.
pub async fn csrf_guard(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    if matches!(*request.method(), Method::GET | Method::HEAD) {
        return next.run(request).await;
    }
    let web_session = match find_web_session(&state, request.headers()).await {
        Ok(web_session) => web_session,
        Err(error) => return error.into_response(),
    };
    let (parts, body) = request.into_parts();
    let (sent, body) = match sent_token(&parts.headers, body).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let genuine = match (web_session.as_ref(), sent.as_deref()) {
        (Some(session), Some(sent)) => same(session.row.csrf_token.as_bytes(), sent.as_bytes()),
        _ => false,
    };
    if !genuine {
        return (
            StatusCode::FORBIDDEN,
            "this form has expired or did not come from this site: reload the page and try again",
        )
            .into_response();
    }
    let mut request = Request::from_parts(parts, body);
    request.extensions_mut().insert(Loaded(web_session));
    next.run(request).await
}

/// Largest form body the guard reads to find the token (uploads send the header instead).
const FORM_BYTES: usize = 256 * 1024;

/// The token a request sent, and its body to pass on (read and put back for plain forms).
async fn sent_token(
    headers: &HeaderMap,
    body: Body,
) -> std::result::Result<(Option<String>, Body), Response> {
    if let Some(token) = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()) {
        return Ok((Some(token.to_owned()), body));
    }
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Ok((None, body));
    }
    let bytes = axum::body::to_bytes(body, FORM_BYTES)
        .await
        .map_err(|_| (StatusCode::PAYLOAD_TOO_LARGE, "the form is too large").into_response())?;
    let token = url::form_urlencoded::parse(&bytes)
        .find(|(key, _)| key == CSRF_FIELD)
        .map(|(_, value)| value.into_owned());
    Ok((token, Body::from(bytes)))
}

/// Compares two tokens in time independent of where they differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_by_exact_name() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            "a=1; up_session_x=2; up_session=abc"
                .parse()
                .expect("header"),
        );
        assert_eq!(cookie(&headers, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&headers, "b"), None);
    }

    #[test]
    fn tokens_compare_whole() {
        assert!(same(b"abc", b"abc"));
        assert!(!same(b"abc", b"abd"));
        assert!(!same(b"abc", b"ab"));
    }
}
