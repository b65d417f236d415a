//! Signing in and out: the sign-in page, the development sign-in (dev mode), the OpenID Connect
//! code flow, sign-out, and the tenant and language switchers. Every sign-in ends the same way:
//! its token goes through the same verification and first-sign-in hydration as a bearer token
//! before the session holds it.

use std::sync::Arc;

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::i18n::Lang;
use super::store::{self, SessionId, Tokens, WebSession};
use super::visit::{LANG_COOKIE, SESSION_COOKIE, Visit};
use super::{Chrome, Web, refused, render, set_cookie, signed_in, to_sign_in, with_cookie};
use crate::AppState;
use crate::auth::dev::{DEV_ISSUER, DevTenant, DevTokenRequest};
use crate::error::Error;

/// The sign-in page.
#[derive(Template)]
#[template(path = "signin.html")]
struct SignInPage<'a> {
    chrome: Chrome<'a>,
    provider: bool,
    dev: bool,
    problem: Option<String>,
}

/// `GET /signin`: the provider's button and, in dev mode, the development form. Starts a
/// (signed-out) web session so that the forms carry a CSRF token.
pub async fn page(State(state): State<Arc<AppState>>, visit: Visit) -> Response {
    if visit.signed_in() {
        return Redirect::to("/").into_response();
    }
    show_sign_in(&state, visit, None).await
}

async fn show_sign_in(state: &AppState, mut visit: Visit, problem: Option<String>) -> Response {
    let mut cookie = None;
    if visit.web_session.is_none() {
        match store::create(&state.db, state.web.session_hours).await {
            Ok(session) => {
                cookie = Some(session_cookie(&state.web, &session.id));
                visit.web_session = Some(session);
            }
            Err(error) => return refused(state, &visit, error),
        }
    }
    let status = match problem {
        Some(_) => axum::http::StatusCode::UNAUTHORIZED,
        None => axum::http::StatusCode::OK,
    };
    let page = SignInPage {
        chrome: Chrome::of(state, &visit),
        provider: state.web.client.is_some(),
        dev: state.web.dev_key.is_some(),
        problem,
    };
    let mut response = render(&page);
    *response.status_mut() = status;
    match cookie {
        Some(cookie) => with_cookie(response, cookie),
        None => response,
    }
}

fn session_cookie(web: &Web, id: &SessionId) -> axum::http::HeaderValue {
    set_cookie(web, SESSION_COOKIE, id.as_str(), web.session_hours * 3600)
}

/// The development sign-in form.
#[derive(Deserialize)]
pub struct DevForm {
    subject: String,
    #[serde(default)]
    name: String,
    tenant: String,
    role: String,
}

/// `POST /signin/dev` (dev mode): issues a development token for the person, tenant and role
/// typed in, and signs in with it.
pub async fn dev(
    State(state): State<Arc<AppState>>,
    visit: Visit,
    Form(form): Form<DevForm>,
) -> Response {
    let Some(key) = state.web.dev_key.as_ref() else {
        return refused(
            &state,
            &visit,
            Error::NotFound("the development sign-in is only offered in development mode".into()),
        );
    };
    let (subject, tenant) = (form.subject.trim(), form.tenant.trim());
    if subject.is_empty() || tenant.is_empty() {
        let problem = Error::bad_input("give a user and a tenant").message();
        return show_sign_in(&state, visit, Some(problem)).await;
    }
    let mut claims = Map::new();
    claims.insert("preferred_username".into(), Value::from(subject));
    if !form.name.trim().is_empty() {
        claims.insert("name".into(), Value::from(form.name.trim()));
    }
    let request = DevTokenRequest {
        subject: subject.to_owned(),
        tenants: vec![DevTenant {
            id: tenant.to_owned(),
            name: None,
            role: form.role.clone(),
        }],
        operator: false,
        ttl_seconds: i64::try_from(state.web.session_hours * 3600).unwrap_or(3600),
        extra_claims: claims,
    };
    match key.issue(&request) {
        Ok(access) => {
            let tokens = Tokens {
                access,
                id_token: None,
                refresh: None,
            };
            finish(&state, visit, tokens, DEV_ISSUER.to_owned()).await
        }
        Err(error) => refused(&state, &visit, Error::internal(error)),
    }
}

/// Signs the visit in with `tokens` once the access token verifies and its user is
/// provisioned (the same path as a bearer token's first request), in a new session: the
/// signed-out session's id is never the signed-in one's.
async fn finish(state: &AppState, visit: Visit, tokens: Tokens, issuer: String) -> Response {
    let verified = state
        .signin
        .principal(state.databases(), &state.auth, &tokens.access);
    if let Err(error) = verified.await {
        return show_sign_in(state, visit, Some(error.message())).await;
    }
    let started = async {
        if let Some(old) = &visit.web_session {
            store::delete(&state.db, &old.row).await?;
        }
        let session = store::create(&state.db, state.web.session_hours).await?;
        let id = session.id.clone();
        store::sign_in(&state.db, session, &tokens, issuer).await?;
        Ok::<_, Error>(id)
    };
    match started.await {
        Ok(id) => with_cookie(
            Redirect::to("/").into_response(),
            session_cookie(&state.web, &id),
        ),
        Err(error) => refused(state, &visit, error),
    }
}

/// Parameters of `GET /signin/oidc`.
#[derive(Deserialize)]
pub struct StartQuery {
    login_hint: Option<String>,
}

/// `GET /signin/oidc`: sends the browser to the provider, remembering state, nonce and the
/// PKCE verifier in the web session.
pub async fn start(
    State(state): State<Arc<AppState>>,
    visit: Visit,
    Query(query): Query<StartQuery>,
) -> Response {
    let Some(client) = state.web.client.as_ref() else {
        return refused(
            &state,
            &visit,
            Error::NotFound("no identity provider is configured for the web UI".into()),
        );
    };
    let started = async {
        // A browser coming straight here gets its (signed-out) session now.
        let (cookie, row) = match visit.web_session.clone() {
            Some(session) => (None, session.row),
            None => {
                let session = store::create(&state.db, state.web.session_hours).await?;
                (Some(session_cookie(&state.web, &session.id)), session.row)
            }
        };
        let (url, pending) = client
            .start(query.login_hint.as_deref(), visit.lang.code())
            .await?;
        store::set_pending(&state.db, row, &pending).await?;
        Ok::<_, Error>((url, cookie))
    };
    match started.await {
        Ok((url, Some(cookie))) => with_cookie(Redirect::to(&url).into_response(), cookie),
        Ok((url, None)) => Redirect::to(&url).into_response(),
        Err(error) => refused(&state, &visit, error),
    }
}

/// Parameters of the provider's redirect back.
#[derive(Deserialize)]
pub struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// `GET /auth/callback`: checks `state` against the session's pending sign-in (once), exchanges
/// the code and signs in with the access token.
pub async fn callback(
    State(state): State<Arc<AppState>>,
    visit: Visit,
    Query(back): Query<Callback>,
) -> Response {
    let (Some(client), Some(session)) = (state.web.client.as_ref(), visit.web_session.clone())
    else {
        return Redirect::to("/signin").into_response();
    };
    let pending = match store::take_pending(&state.db, session.row).await {
        Ok((_, pending)) => pending,
        Err(error) => return refused(&state, &visit, error),
    };
    if let Some(error) = back.error {
        let detail = back.error_description.unwrap_or(error);
        let problem = format!("the identity provider did not sign you in: {detail}");
        return show_sign_in(&state, visit, Some(problem)).await;
    }
    let (Some(pending), Some(code), Some(returned)) = (pending, back.code, back.state) else {
        let problem = "this sign-in was not started here or has expired: start again".to_owned();
        return show_sign_in(&state, visit, Some(problem)).await;
    };
    if returned != pending.state {
        let problem = "this sign-in does not belong to this browser: start again".to_owned();
        return show_sign_in(&state, visit, Some(problem)).await;
    }
    match client.finish(code, pending).await {
        Ok(tokens) => {
            let issuer = client.issuer.clone();
            finish(&state, visit, tokens, issuer).await
        }
        Err(error) => show_sign_in(&state, visit, Some(error.message())).await,
    }
}

/// `POST /signout`: ends the web session, then the provider's session when it has an
/// end-session endpoint.
pub async fn sign_out(State(state): State<Arc<AppState>>, visit: Visit) -> Response {
    let Some(session) = visit.web_session.as_ref() else {
        return Redirect::to("/signin").into_response();
    };
    if let Err(error) = store::delete(&state.db, &session.row).await {
        return refused(&state, &visit, error);
    }
    let target = end_session(&state, session).await;
    with_cookie(
        Redirect::to(&target).into_response(),
        set_cookie(&state.web, SESSION_COOKIE, "", 0),
    )
}

async fn end_session(state: &AppState, session: &WebSession) -> String {
    let client = state
        .web
        .client
        .as_ref()
        .filter(|c| session.row.issuer.as_deref() == Some(c.issuer.as_str()));
    let Some(client) = client else {
        return "/signin".to_owned();
    };
    let after = format!("{}/signin", client.origin());
    let id_token = session.tokens().and_then(|tokens| tokens.id_token);
    client
        .end_session_url(id_token.as_deref(), &after)
        .await
        .unwrap_or_else(|| "/signin".to_owned())
}

/// The tenant switcher's form.
#[derive(Deserialize)]
pub struct TenantForm {
    tenant: String,
}

/// `POST /tenant`: makes one of the user's tenants the active one for this session.
pub async fn switch_tenant(
    State(state): State<Arc<AppState>>,
    visit: Visit,
    Form(form): Form<TenantForm>,
) -> Response {
    let Some(session) = signed_in(&visit) else {
        return to_sign_in();
    };
    let member_of = session
        .user()
        .map(|user| user.membership(&form.tenant).map(|m| m.tenant.id));
    let tenant = match member_of {
        Ok(Some(tenant)) => tenant,
        Ok(None) => {
            let error = Error::Forbidden(format!("you have no access to tenant {}", form.tenant));
            return refused(&state, &visit, error);
        }
        Err(error) => return refused(&state, &visit, error),
    };
    let Some(session) = visit.web_session.clone() else {
        return Redirect::to("/signin").into_response();
    };
    match store::set_tenant(&state.db, session.row, tenant.to_string()).await {
        Ok(_) => Redirect::to("/").into_response(),
        Err(error) => refused(&state, &visit, error),
    }
}

/// The language switcher's form.
#[derive(Deserialize)]
pub struct LanguageForm {
    lang: String,
    #[serde(default)]
    back: String,
}

/// `POST /language`: remembers the chosen language in a cookie (a year) and goes back.
pub async fn switch_language(
    State(state): State<Arc<AppState>>,
    visit: Visit,
    headers: HeaderMap,
    Form(form): Form<LanguageForm>,
) -> Response {
    let Some(lang) = Lang::of_tag(&form.lang) else {
        let error = Error::bad_input(format!("{} is not a language of this site", form.lang));
        return refused(&state, &visit, error);
    };
    let back = local_path(&form.back)
        .map(str::to_owned)
        .or_else(|| {
            let referer = headers.get(header::REFERER)?.to_str().ok()?;
            let url = url::Url::parse(referer).ok()?;
            local_path(url.path()).map(str::to_owned)
        })
        .unwrap_or_else(|| "/".to_owned());
    with_cookie(
        Redirect::to(&back).into_response(),
        set_cookie(&state.web, LANG_COOKIE, lang.code(), 365 * 24 * 3600),
    )
}

/// `path` when it stays on this site (`/x`, not `//host` or `https://…`).
fn local_path(path: &str) -> Option<&str> {
    (path.starts_with('/') && !path.starts_with("//") && !path.contains('\\')).then_some(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_gone_back_to() {
        assert_eq!(local_path("/admin/people"), Some("/admin/people"));
        assert_eq!(local_path("//evil.example"), None);
        assert_eq!(local_path("https://evil.example"), None);
        assert_eq!(local_path("/\\evil.example"), None);
    }
}
