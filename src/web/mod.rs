//! The web UI: server-rendered pages (askama templates under `templates/`) with htmx for
//! in-place updates. A second skin over the same domain functions as GraphQL: each request
//! resolves the same [`Session`] from its web session's credential, and every page takes its
//! capability from it, so no rule is written here.

mod assets;
mod card;
mod controls;
mod designer;
pub mod i18n;
mod live;
mod oidc;
mod people;
mod signin;
mod store;
mod visit;

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use crate::AppState;
use crate::auth::Principal;
use crate::auth::dev::DevKey;
use crate::config::Config;
use crate::error::Error;
use crate::session::Session;
use entity::membership::Role;
use i18n::{Catalogue, Lang, Texts};
pub use store::delete_expired as delete_expired_sessions;
use store::{Tokens, WebSession};
use visit::Visit;

/// What the web UI keeps for the whole process.
pub struct Web {
    catalogue: Catalogue,
    dev_key: Option<DevKey>,
    client: Option<oidc::WebClient>,
    secure_cookies: bool,
    session_hours: u64,
    /// Renewals under way or just done, by the sealed tokens they replace: the requests a page
    /// makes at once share one refresh (a provider that rotates refresh tokens treats a second
    /// use of the old one as a replay and ends the grant).
    renewals: moka::future::Cache<String, Tokens>,
}

impl Web {
    /// Loads the UI texts, the development key (dev mode only) and the sign-in client.
    pub fn new(config: &Config) -> anyhow::Result<Web> {
        let dev_key = match config.dev_mode {
            true => Some(DevKey::load_or_create(&config.data_dir)?),
            false => None,
        };
        Ok(Web {
            catalogue: Catalogue::load()?,
            dev_key,
            client: oidc::WebClient::from_config(&config.web)?,
            secure_cookies: !config.dev_mode,
            session_hours: config.web.session_hours,
            renewals: moka::future::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(RENEWAL_REMEMBERED)
                .build(),
        })
    }

    /// Renews the session's expired access token with its refresh token at the provider that
    /// signed it in, and stores the new tokens. `None` when there is nothing to renew with or
    /// the provider refuses: the visitor signs in again.
    async fn renew(
        &self,
        db: &sea_orm::DatabaseConnection,
        session: &WebSession,
        tokens: &Tokens,
    ) -> Result<Option<Tokens>, Error> {
        let client = self
            .client
            .as_ref()
            .filter(|c| session.row.issuer.as_deref() == Some(c.issuer.as_str()));
        let sealed = session.row.sealed_tokens.clone();
        let (Some(client), Some(sealed), Some(refresh)) = (client, sealed, &tokens.refresh) else {
            return Ok(None);
        };
        let renewal = async {
            let renewed = client.refresh(tokens, refresh).await?;
            store::renew(db, session, &renewed).await?;
            Ok::<_, Error>(renewed)
        };
        match self.renewals.try_get_with(sealed, renewal).await {
            Ok(renewed) => Ok(Some(renewed)),
            Err(error) if matches!(*error, Error::Unauthenticated(_)) => Ok(None),
            Err(error) => Err((*error).clone()),
        }
    }
}

/// How long a renewal is remembered for the requests that come with the old tokens meanwhile.
const RENEWAL_REMEMBERED: std::time::Duration = std::time::Duration::from_secs(60);

/// How often expired web sessions are deleted.
const SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(600);

/// Deletes expired web sessions every [`SWEEP_EVERY`], until the service is gone: a session
/// nobody signs out of would otherwise stay in the table for ever.
pub async fn sweep_expired_sessions(state: std::sync::Weak<AppState>) {
    let mut ticks = tokio::time::interval(SWEEP_EVERY);
    loop {
        ticks.tick().await;
        let Some(state) = state.upgrade() else {
            return;
        };
        match delete_expired_sessions(&state.db).await {
            Ok(0) => {}
            Ok(deleted) => tracing::info!(deleted, "expired web sessions deleted"),
            Err(error) => tracing::warn!(?error, "deleting expired web sessions failed"),
        }
    }
}

/// The UI's routes: those that start a session, open to anyone (the HTTP layer puts them
/// under the anonymous rate limit, since each can create a session row), and the rest.
pub struct Routes {
    /// Sign-in pages, the development sign-in and the provider's callback.
    pub signing_in: Router<Arc<AppState>>,
    /// Every other page, form and asset.
    pub pages: Router<Arc<AppState>>,
}

/// The UI's routes. State-changing ones pass the CSRF guard first.
pub fn routes(state: Arc<AppState>) -> Routes {
    let upload_limit = state.files.upload_bytes + 64 * 1024;
    let guard = || axum::middleware::from_fn_with_state(state.clone(), visit::csrf_guard);
    let changes = Router::new()
        .route("/signout", post(signin::sign_out))
        .route("/tenant", post(signin::switch_tenant))
        .route("/language", post(signin::switch_language))
        .route("/card/fields/{key}", post(card::save_own))
        .route("/admin/fields", post(designer::create))
        .route("/admin/fields/templates", post(designer::add_templates))
        .route("/admin/fields/order", post(designer::reorder))
        .route("/admin/fields/{id}", post(designer::update))
        .route("/admin/fields/{id}/move", post(designer::move_field))
        .route("/admin/fields/{id}/archive", post(designer::archive))
        .route("/admin/fields/{id}/rules", post(designer::set_rules))
        .route("/admin/people/{user}/fields/{key}", post(card::save_member))
        .merge(
            Router::new()
                .route("/card/fields/{key}/upload", post(card::upload_own))
                .route(
                    "/admin/people/{user}/fields/{key}/upload",
                    post(card::upload_member),
                )
                .layer(DefaultBodyLimit::max(upload_limit)),
        )
        .route_layer(guard());
    let signing_in = Router::new()
        .route("/signin", get(signin::page))
        .route("/signin/oidc", get(signin::start))
        .route("/auth/callback", get(signin::callback))
        .merge(
            Router::new()
                .route("/signin/dev", post(signin::dev))
                .route_layer(guard()),
        );
    let pages = Router::new()
        .route("/", get(card::own))
        .route("/admin/people", get(people::grid))
        .route("/admin/fields", get(designer::page))
        .route("/admin/fields/preview", get(designer::preview))
        .route("/admin/people/{user}", get(card::member))
        .route("/card/live", get(live::own_card))
        .route("/admin/people/live", get(live::grid))
        .route("/admin/people/{user}/live", get(live::member_card))
        .route(assets::LIVE_PATH, get(assets::live))
        .route(assets::DESIGNER_PATH, get(assets::designer))
        .route(assets::HTMX_PATH, get(assets::htmx))
        .route(assets::CSS_PATH, get(assets::css))
        .merge(changes);
    Routes { signing_in, pages }
}

/// A tenant in the switcher.
pub struct TenantChoice {
    /// Tenant id.
    pub id: String,
    /// Tenant name.
    pub name: String,
    /// Whether it is the active one.
    pub active: bool,
}

/// The frame every page shares: language and direction, texts, the CSRF token, who is signed
/// in, the tenant switcher and the navigation the viewer may use.
pub struct Chrome<'a> {
    /// Texts in the visit's language.
    pub t: &'a Texts,
    /// The visit's language.
    pub lang: Lang,
    /// Every shipped language, for the switcher.
    pub langs: [Lang; 12],
    /// The web session's CSRF token.
    pub csrf: String,
    /// The signed-in user's name, if someone is signed in.
    pub user: Option<String>,
    /// The user's tenants.
    pub tenants: Vec<TenantChoice>,
    /// Whether the people grid is open to the viewer (admins, or an open member directory).
    pub people: bool,
    /// Whether the viewer designs the fields (admins).
    pub designer: bool,
    /// The htmx script's path.
    pub htmx: &'static str,
    /// The stylesheet's path.
    pub css: &'static str,
    /// The live-page script's path.
    pub live: &'static str,
}

impl<'a> Chrome<'a> {
    fn of(state: &'a AppState, visit: &Visit) -> Chrome<'a> {
        let user = match visit.session.principal() {
            Ok(Principal::User(user)) => Some(user),
            _ => None,
        };
        let active = visit.session.active().ok();
        let active_id = active.map(|scope| scope.tenant().id);
        let designer = active.is_some_and(|scope| scope.standing().includes(Role::Admin));
        let people = active.is_some_and(|scope| {
            scope.standing().includes(Role::Admin) || scope.tenant().member_directory
        });
        Chrome {
            t: state.web.catalogue.texts(visit.lang),
            lang: visit.lang,
            langs: Lang::ALL,
            csrf: visit.csrf().to_owned(),
            user: user.map(|u| {
                u.user
                    .username
                    .clone()
                    .or_else(|| u.user.email.clone())
                    .unwrap_or_else(|| u.user.subject.clone())
            }),
            tenants: user
                .map(|u| {
                    u.memberships
                        .iter()
                        .map(|m| TenantChoice {
                            id: m.tenant.id.to_string(),
                            name: m.tenant.name.clone(),
                            active: Some(m.tenant.id) == active_id,
                        })
                        .collect()
                })
                .unwrap_or_default(),
            people,
            designer,
            htmx: assets::HTMX_PATH,
            css: assets::CSS_PATH,
            live: assets::LIVE_PATH,
        }
    }
}

/// A page that says why a request was refused.
#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    chrome: Chrome<'a>,
    title: &'a str,
    message: String,
}

/// Renders a template; a template that cannot render is an internal error, logged.
fn render(template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => Html(html).into_response(),
        Err(error) => Error::internal(error).into_response(),
    }
}

/// The answer to a refused page request: signed-out visitors go to the sign-in page, everyone
/// else gets a page with the reason and the matching status.
fn refused(state: &AppState, visit: &Visit, error: Error) -> Response {
    if matches!(error, Error::Unauthenticated(_)) {
        return to_sign_in();
    }
    let chrome = Chrome::of(state, visit);
    let title = match error.status() {
        StatusCode::FORBIDDEN => chrome.t.forbidden_title.as_str(),
        StatusCode::NOT_FOUND => chrome.t.not_found_title.as_str(),
        _ => chrome.t.error_title.as_str(),
    };
    let page = ErrorPage {
        title,
        message: error.message(),
        chrome: Chrome::of(state, visit),
    };
    let mut response = render(&page);
    *response.status_mut() = error.status();
    response
}

/// Sends the browser to the sign-in page (htmx requests by its `HX-Redirect` header).
fn to_sign_in() -> Response {
    let mut response = Redirect::to("/signin").into_response();
    response
        .headers_mut()
        .insert("hx-redirect", HeaderValue::from_static("/signin"));
    response
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Lax, Secure outside development.
fn set_cookie(web: &Web, name: &str, value: &str, max_age_seconds: u64) -> HeaderValue {
    let secure = if web.secure_cookies { "; Secure" } else { "" };
    let text = format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_seconds}{secure}"
    );
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Adds a cookie to a response.
fn with_cookie(mut response: Response, cookie: HeaderValue) -> Response {
    response.headers_mut().append(header::SET_COOKIE, cookie);
    response
}

/// The signed-in visit's session; `None` sends the visitor to [`to_sign_in`].
fn signed_in(visit: &Visit) -> Option<&Session> {
    visit.signed_in().then_some(&visit.session)
}
