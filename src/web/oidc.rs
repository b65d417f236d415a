//! The web UI's OpenID Connect client: authorization code flow with PKCE, `state` and `nonce`
//! checked, refresh of an expired access token, and the provider's end-session endpoint for
//! sign-out. The access token it obtains is then verified like any bearer token
//! (`crate::signin`); this module only runs the flow.

use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreIdToken};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, LogoutRequest, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, PostLogoutRedirectUrl,
    ProviderMetadataWithLogout, RedirectUrl, RefreshToken, Scope,
};
use tokio::sync::OnceCell;

use super::store::{Pending, Tokens};
use crate::config::WebConfig;
use crate::error::{Error, Result};

/// The configured sign-in client; discovery happens on first use.
pub struct WebClient {
    /// The issuer, as configured.
    pub issuer: String,
    client_id: String,
    client_secret: Option<String>,
    redirect_uri: String,
    resource: Option<String>,
    metadata: OnceCell<ProviderMetadataWithLogout>,
    http: reqwest::Client,
}

impl WebClient {
    /// The client of `config`, or `None` when no issuer is configured; an issuer without a
    /// client id or redirect URI is a configuration error.
    pub fn from_config(config: &WebConfig) -> anyhow::Result<Option<WebClient>> {
        let Some(issuer) = config.issuer.clone() else {
            return Ok(None);
        };
        let (Some(client_id), Some(redirect_uri)) =
            (config.client_id.clone(), config.redirect_uri.clone())
        else {
            anyhow::bail!("web.issuer is set: set web.client_id and web.redirect_uri too");
        };
        RedirectUrl::new(redirect_uri.clone())?;
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Some(WebClient {
            issuer,
            client_id,
            client_secret: config.client_secret.clone(),
            redirect_uri,
            resource: config.resource.clone(),
            metadata: OnceCell::new(),
            http,
        }))
    }

    async fn metadata(&self) -> Result<&ProviderMetadataWithLogout> {
        self.metadata
            .get_or_try_init(|| async {
                let issuer = IssuerUrl::new(self.issuer.clone()).map_err(Error::internal)?;
                ProviderMetadataWithLogout::discover_async(issuer, &self.http)
                    .await
                    .map_err(|error| {
                        tracing::warn!(%error, issuer = %self.issuer, "discovery failed");
                        Error::Unavailable(
                            "the identity provider cannot be reached just now: try again in a moment"
                                .into(),
                        )
                    })
            })
            .await
    }

    async fn client(
        &self,
    ) -> Result<
        CoreClient<
            openidconnect::EndpointSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointMaybeSet,
            openidconnect::EndpointMaybeSet,
        >,
    > {
        let metadata = self.metadata().await?.clone();
        let redirect = RedirectUrl::new(self.redirect_uri.clone()).map_err(Error::internal)?;
        Ok(CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(self.client_id.clone()),
            self.client_secret.clone().map(ClientSecret::new),
        )
        .set_redirect_uri(redirect))
    }

    /// The provider's authorization URL and what the callback must match. `login_hint` and
    /// `ui_locales` are passed on (a provider may prefill or translate its pages).
    pub async fn start(
        &self,
        login_hint: Option<&str>,
        ui_locale: &str,
    ) -> Result<(String, Pending)> {
        let client = self.client().await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scope(Scope::new("profile".into()))
            .add_scope(Scope::new("email".into()))
            .set_pkce_challenge(challenge)
            .add_extra_param("ui_locales", ui_locale.to_owned());
        if let Some(hint) = login_hint.filter(|h| !h.is_empty()) {
            request = request.add_extra_param("login_hint", hint.to_owned());
        }
        let (url, state, nonce) = request.url();
        let pending = Pending {
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            verifier: verifier.secret().clone(),
        };
        Ok((url.to_string(), pending))
    }

    /// Exchanges the callback's code (PKCE) and checks the ID token's signature, audience and
    /// nonce; the access token is verified later, as every bearer token is.
    pub async fn finish(&self, code: String, pending: Pending) -> Result<Tokens> {
        let client = self.client().await?;
        let mut exchange = client
            .exchange_code(AuthorizationCode::new(code))
            .map_err(Error::internal)?
            .set_pkce_verifier(PkceCodeVerifier::new(pending.verifier));
        if let Some(resource) = &self.resource {
            exchange = exchange.add_extra_param("resource", resource.clone());
        }
        let response = exchange.request_async(&self.http).await.map_err(|error| {
            tracing::warn!(error = ?error, "code exchange refused");
            Error::Unauthenticated("the identity provider refused the sign-in: try again".into())
        })?;
        let id_token = response.extra_fields().id_token().ok_or_else(|| {
            Error::Unauthenticated("the identity provider sent no ID token".into())
        })?;
        id_token
            .claims(&client.id_token_verifier(), &Nonce::new(pending.nonce))
            .map_err(|error| {
                tracing::warn!(%error, "ID token refused");
                Error::Unauthenticated("the identity provider's ID token did not verify".into())
            })?;
        Ok(Tokens {
            access: response.access_token().secret().clone(),
            id_token: Some(id_token.to_string()),
            refresh: response.refresh_token().map(|t| t.secret().clone()),
        })
    }

    /// Renews `tokens` with their refresh token `refresh`. A provider that rotates refresh
    /// tokens sends a new one, else the old one stays; the same for the ID token (a refresh
    /// response need not carry one).
    pub async fn refresh(&self, tokens: &Tokens, refresh: &str) -> Result<Tokens> {
        let client = self.client().await?;
        let refresh = RefreshToken::new(refresh.to_owned());
        let mut exchange = client
            .exchange_refresh_token(&refresh)
            .map_err(Error::internal)?;
        if let Some(resource) = &self.resource {
            exchange = exchange.add_extra_param("resource", resource.clone());
        }
        let response = exchange.request_async(&self.http).await.map_err(|error| {
            tracing::info!(error = ?error, "refresh refused; the session signs in again");
            Error::Unauthenticated("your sign-in has expired: sign in again".into())
        })?;
        Ok(Tokens {
            access: response.access_token().secret().clone(),
            id_token: response
                .extra_fields()
                .id_token()
                .map(ToString::to_string)
                .or_else(|| tokens.id_token.clone()),
            refresh: response
                .refresh_token()
                .map(|t| t.secret().clone())
                .or_else(|| Some(refresh.secret().clone())),
        })
    }

    /// Where to send the browser to end its session at the provider too, when the provider has
    /// an end-session endpoint; it comes back to `after`.
    pub async fn end_session_url(&self, id_token: Option<&str>, after: &str) -> Option<String> {
        let metadata = self.metadata().await.ok()?;
        let endpoint = metadata
            .additional_metadata()
            .end_session_endpoint
            .clone()?;
        let mut request =
            LogoutRequest::from(endpoint).set_client_id(ClientId::new(self.client_id.clone()));
        if let Some(token) = id_token.and_then(|t| t.parse::<CoreIdToken>().ok()) {
            request = request.set_id_token_hint(&token);
        }
        if let Ok(after) = PostLogoutRedirectUrl::new(after.to_owned()) {
            request = request.set_post_logout_redirect_uri(after);
        }
        Some(request.http_get_url().to_string())
    }

    /// The site's own address (scheme, host and port of the redirect URI), for the URL the
    /// provider sends the browser back to after sign-out.
    pub fn origin(&self) -> String {
        url::Url::parse(&self.redirect_uri)
            .map(|url| url.origin().ascii_serialization())
            .unwrap_or_default()
    }
}
