//! A card page: the signed-in user's own card (`/`) or a member's (`/admin/people/{id}`), every
//! field the viewer may see, edited in place: each control posts its field on change with the
//! card's version, and the answer replaces that field, with "saved" or the reason it was not.

use std::sync::Arc;

use askama::Template;
use axum::Form;
use axum::extract::{Multipart, Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use uuid::Uuid;

use super::controls::{self, Control, FieldView, FilePreview, Labels, Notice};
use super::i18n::Texts;
use super::visit::Visit;
use super::{Chrome, refused, render, signed_in, to_sign_in};
use crate::AppState;
use crate::error::{Error, Result};
use crate::fields::labels::Preferences;
use crate::files::Upload;
use crate::profiles::{self, Card, Stores, ValueChange, directory};
use crate::session::Session;

/// Whose card a request is about.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Whose {
    /// The signed-in user's own.
    Own,
    /// Another member's, by user id.
    Member(Uuid),
}

impl Whose {
    /// The card's URL; its fields post under it, its live stream is under it.
    fn base(self) -> String {
        match self {
            Whose::Own => "/card".to_owned(),
            Whose::Member(id) => format!("/admin/people/{id}"),
        }
    }
}

/// A whole card page.
#[derive(Template)]
#[template(path = "card.html")]
struct CardPage<'a> {
    chrome: Chrome<'a>,
    t: &'a Texts,
    name: String,
    role: String,
    own: bool,
    avatar: Option<FilePreview>,
    version: i32,
    fields: Vec<FieldView>,
    live: String,
}

/// One field, as a save answers it, with the card's new version out of band.
#[derive(Template)]
#[template(path = "field.html")]
struct FieldFragment<'a> {
    t: &'a Texts,
    field: FieldView,
    version: i32,
}

/// `GET /`: the signed-in user's card in the active tenant.
pub async fn own(State(state): State<Arc<AppState>>, visit: Visit) -> Response {
    show(&state, &visit, Whose::Own).await
}

/// `GET /admin/people/{user}`: a member's card, as the viewer's role lets them see it.
pub async fn member(
    State(state): State<Arc<AppState>>,
    visit: Visit,
    Path(user): Path<String>,
) -> Response {
    match member_id(&visit, &user) {
        Ok(Whose::Own) => Redirect::to("/").into_response(),
        Ok(whose) => show(&state, &visit, whose).await,
        Err(error) => refused(&state, &visit, error),
    }
}

async fn show(state: &AppState, visit: &Visit, whose: Whose) -> Response {
    let Some(session) = signed_in(visit) else {
        return to_sign_in();
    };
    let card = match read(state, session, whose).await {
        Ok(card) => card,
        Err(error) => return refused(state, visit, error),
    };
    let chrome = Chrome::of(state, visit);
    let t = chrome.t;
    let fields = views(state, visit, &card, whose);
    let page = CardPage {
        name: card.display_name().unwrap_or_else(|| t.no_name.clone()),
        role: role_text(t, card.role).to_owned(),
        own: whose == Whose::Own,
        avatar: card
            .avatar()
            .map(|file| controls::preview(&state.files, file)),
        version: card.version,
        fields,
        live: format!("{}/live", whose.base()),
        t,
        chrome,
    };
    render(&page)
}

/// The role's name in the visit's language.
pub fn role_text(t: &Texts, role: entity::membership::Role) -> &str {
    use entity::membership::Role;
    match role {
        Role::Owner => &t.role_owner,
        Role::Admin => &t.role_admin,
        Role::Member => &t.role_member,
    }
}

/// Parses a member's id; the viewer's own id is their own card.
pub(super) fn member_id(visit: &Visit, text: &str) -> Result<Whose> {
    let id =
        Uuid::parse_str(text).map_err(|_| Error::NotFound(format!("there is no member {text}")))?;
    let own = visit.session.user().map(|u| u.user.id).ok();
    Ok(if own == Some(id) {
        Whose::Own
    } else {
        Whose::Member(id)
    })
}

/// Reads the card with the capability the viewer has: their own as a member; another's as an
/// admin, or as a member while the tenant's member directory is open.
pub(super) async fn read(state: &AppState, session: &Session, whose: Whose) -> Result<Card> {
    let member = session.member()?;
    let subject = match whose {
        Whose::Own => member.user_id()?,
        Whose::Member(id) => {
            if session.admin().is_err() {
                directory::reader(&state.db, &member).await?;
            }
            id
        }
    };
    profiles::read(&state.db, &state.fields, &member, subject).await
}

fn views(state: &AppState, visit: &Visit, card: &Card, whose: Whose) -> Vec<FieldView> {
    let labels = Labels {
        preferences: Preferences(vec![visit.lang.code().to_owned()]),
        default_locale: &card.tenant.default_locale,
    };
    let base = whose.base();
    card.values
        .iter()
        .map(|value| controls::field_view(value, &card.files, &state.files, &labels, &base))
        .collect()
}

/// `POST /card/fields/{key}`: saves one field of the own card.
pub async fn save_own(
    State(state): State<Arc<AppState>>,
    visit: Visit,
    Path(key): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    save(&state, &visit, Whose::Own, key, form).await
}

/// `POST /admin/people/{user}/fields/{key}`: saves one field of a member's card (admins).
pub async fn save_member(
    State(state): State<Arc<AppState>>,
    visit: Visit,
    Path((user, key)): Path<(String, String)>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    match member_id(&visit, &user) {
        Ok(whose) => save(&state, &visit, whose, key, form).await,
        Err(error) => refused(&state, &visit, error),
    }
}

/// Saves the submitted control of field `key` with the card version the page holds, and
/// answers the field as it now is, with the outcome beside it.
async fn save(
    state: &AppState,
    visit: &Visit,
    whose: Whose,
    key: String,
    form: Vec<(String, String)>,
) -> Response {
    let Some(session) = signed_in(visit) else {
        return to_sign_in();
    };
    let values: Vec<String> = form
        .iter()
        .filter(|(name, _)| name == "value")
        .map(|(_, value)| value.clone())
        .collect();
    let saved = async {
        let version = expected_version(&form)?;
        let member = session.member()?;
        let fields = state
            .fields
            .of_tenant(&state.db, member.tenant().id)
            .await?;
        let field = fields
            .by_key(&key)
            .ok_or_else(|| Error::NotFound(format!("this card has no field {key}")))?;
        let change = ValueChange {
            key: key.clone(),
            value: controls::submitted_value(field.kind, &values),
        };
        write(state, session, whose, vec![change], version).await
    };
    let outcome = saved.await;
    answer(state, visit, session, whose, &key, outcome, values.first()).await
}

/// The `version` the page sent, if any.
fn expected_version(form: &[(String, String)]) -> Result<Option<i32>> {
    form.iter()
        .find(|(name, _)| name == "version")
        .map(|(_, v)| {
            v.parse::<i32>()
                .map_err(|_| Error::bad_input("the page's card version is not a number: reload"))
        })
        .transpose()
}

/// Writes with the capability the viewer has: the own card as a member, another's as an admin.
async fn write(
    state: &AppState,
    session: &Session,
    whose: Whose,
    changes: Vec<ValueChange>,
    version: Option<i32>,
) -> Result<Card> {
    let stores = stores(state);
    match whose {
        Whose::Own => profiles::update_own(stores, &session.member()?, changes, version).await,
        Whose::Member(id) => {
            profiles::update(stores, &session.admin()?, id, changes, version).await
        }
    }
}

fn stores(state: &AppState) -> Stores<'_> {
    Stores {
        db: &state.db,
        registry: &state.fields,
        files: &state.files,
        events: &state.events,
    }
}

/// The field after a save: the saved card's, or the current one's with the reason the save was
/// refused (what was typed stays in a text control, to be corrected).
async fn answer(
    state: &AppState,
    visit: &Visit,
    session: &Session,
    whose: Whose,
    key: &str,
    outcome: Result<Card>,
    typed: Option<&String>,
) -> Response {
    let t = state.web.catalogue.texts(visit.lang);
    let (card, notice) = match outcome {
        Ok(card) => (card, Notice::Saved),
        Err(error) => {
            let notice = Notice::Refused(refusal_text(t, key, &error));
            match read(state, session, whose).await {
                Ok(card) => (card, notice),
                Err(error) => return refused(state, visit, error),
            }
        }
    };
    let Some(mut field) = views(state, visit, &card, whose)
        .into_iter()
        .find(|f| f.key == key)
    else {
        return refused(
            state,
            visit,
            Error::NotFound(format!("no field {key} to show")),
        );
    };
    if let (Notice::Refused(_), Some(typed)) = (&notice, typed) {
        field.text = typed.clone();
    }
    field.notice = Some(notice);
    render(&FieldFragment {
        t,
        field,
        version: card.version,
    })
}

/// What a refused save says next to the field: the field's own problem when validation names
/// it, the conflict explained, else the error's message.
fn refusal_text(t: &Texts, key: &str, error: &Error) -> String {
    match error {
        Error::BadUserInput { problems, .. } => problems
            .iter()
            .find(|p| p.field == key)
            .map(|p| p.message.clone())
            .unwrap_or_else(|| error.message()),
        Error::Conflict(_) => t.conflict.clone(),
        _ => error.message(),
    }
}

/// `POST /card/fields/{key}/upload`: stores a file into the own card.
pub async fn upload_own(
    State(state): State<Arc<AppState>>,
    visit: Visit,
    Path(key): Path<String>,
    multipart: Multipart,
) -> Response {
    upload(&state, &visit, Whose::Own, key, multipart).await
}

/// `POST /admin/people/{user}/fields/{key}/upload`: stores a file into a member's card.
pub async fn upload_member(
    State(state): State<Arc<AppState>>,
    visit: Visit,
    Path((user, key)): Path<(String, String)>,
    multipart: Multipart,
) -> Response {
    match member_id(&visit, &user) {
        Ok(whose) => upload(&state, &visit, whose, key, multipart).await,
        Err(error) => refused(&state, &visit, error),
    }
}

async fn upload(
    state: &AppState,
    visit: &Visit,
    whose: Whose,
    key: String,
    multipart: Multipart,
) -> Response {
    let Some(session) = signed_in(visit) else {
        return to_sign_in();
    };
    let stored = async {
        let file = received_file(multipart).await?;
        let stores = stores(state);
        let (card, _) = match whose {
            Whose::Own => profiles::upload_own(stores, &session.member()?, &key, file).await?,
            Whose::Member(id) => {
                profiles::upload(stores, &session.admin()?, id, &key, file).await?
            }
        };
        Ok(card)
    };
    let outcome = stored.await;
    answer(state, visit, session, whose, &key, outcome, None).await
}

/// The `file` part of an upload form.
async fn received_file(mut multipart: Multipart) -> Result<Upload> {
    let unreadable = |e: axum::extract::multipart::MultipartError| {
        Error::bad_input(format!("the upload cannot be read: {}", e.body_text()))
    };
    while let Some(part) = multipart.next_field().await.map_err(unreadable)? {
        if part.name() != Some("file") {
            continue;
        }
        let filename = part.file_name().unwrap_or("upload").to_owned();
        let bytes = part.bytes().await.map_err(unreadable)?.to_vec();
        if bytes.is_empty() {
            return Err(Error::bad_input("choose a file to upload"));
        }
        return Ok(Upload { filename, bytes });
    }
    Err(Error::bad_input("choose a file to upload"))
}
