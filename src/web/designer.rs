//! The schema designer (`/admin/fields`, admins): the tenant's fields in order with their label
//! in the visit's language, required flag, access for owner, other members and admins, and the
//! validation their kind takes (a choice field's options among it);
//! add by hand (with a preview of the new field as the admin types) or from the template
//! catalogue, move up and down (buttons, so the keyboard does it, or drag and drop), archive
//! and restore, and a preview of the admin's own card after each change. Every change goes
//! through the same `fields::store` functions as GraphQL's field mutations.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use askama::Template;
use axum::Form;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use uuid::Uuid;

use super::controls::{self, Control, FieldView, Labels};
use super::i18n::Texts;
use super::visit::Visit;
use super::{Chrome, refused, render, signed_in, to_sign_in};
use crate::AppState;
use crate::core::Admin;
use crate::error::{Error, Result};
use crate::fields::labels::{self, Preferences};
use crate::fields::store::{self, FieldChanges};
use crate::fields::validation;
use crate::fields::{
    Access, AccessLevels, ChoiceOption, FieldDefinition, FieldKey, FieldKind, FieldSpec, Rules,
    Viewer, field_access, templates,
};
use crate::profiles::{self, CardValue};

/// Where the designer lives.
const PAGE: &str = "/admin/fields";
/// The key a preview shows while the one typed is not a valid key yet.
const DRAFT_KEY: &str = "new_field";

/// An access level a select offers.
pub struct AccessChoice {
    /// Form value.
    pub value: &'static str,
    /// Text.
    pub label: String,
    /// Whether the field has it.
    pub selected: bool,
}

/// One field's row.
pub struct Row {
    /// Id (form URLs).
    pub id: Uuid,
    /// Key.
    pub key: String,
    /// Kind, in the visit's language.
    pub kind: String,
    /// Label in the visit's language.
    pub label: String,
    /// Built-in fields cannot be archived.
    pub builtin: bool,
    /// Whether it is archived.
    pub archived: bool,
    /// Whether a value is required.
    pub required: bool,
    /// Owner access choices.
    pub owner: Vec<AccessChoice>,
    /// Other members' access choices.
    pub member: Vec<AccessChoice>,
    /// Admin access choices.
    pub admin: Vec<AccessChoice>,
    /// The definition's version, sent back with changes.
    pub version: i32,
    /// Which validation inputs its kind takes.
    pub rules: RuleInputs,
    /// Whether it can move up / down (archived fields have no place).
    pub up: bool,
    /// See `up`.
    pub down: bool,
}

/// A field's validation as the designer's inputs show it: which apply to its kind, and their
/// current values as text.
pub struct RuleInputs {
    /// Texts: fewest and most characters, pattern.
    pub text: bool,
    /// Numbers: smallest and largest value.
    pub numeric: bool,
    /// Choices: the options.
    pub choice: bool,
    /// Images and files: largest size and accepted types.
    pub file: bool,
    /// Current values.
    pub min_length: String,
    /// See `min_length`.
    pub max_length: String,
    /// See `min_length`.
    pub pattern: String,
    /// See `min_length`.
    pub min: String,
    /// See `min_length`.
    pub max: String,
    /// See `min_length`.
    pub max_bytes: String,
    /// Comma-separated.
    pub content_types: String,
    /// One option per line, `value = label` in the page's language.
    pub options: String,
}

impl RuleInputs {
    fn of(field: &FieldDefinition, prefs: &Preferences, default_locale: &str) -> RuleInputs {
        let kind = field.kind;
        let rules = &field.rules;
        let text = |v: Option<String>| v.unwrap_or_default();
        RuleInputs {
            text: validation::takes_text_rules(kind),
            numeric: validation::takes_range(kind),
            choice: kind.has_options(),
            file: kind.is_file(),
            min_length: text(rules.min_length.map(|v| v.to_string())),
            max_length: text(rules.max_length.map(|v| v.to_string())),
            pattern: text(rules.pattern.clone()),
            min: text(rules.min.map(|v| v.to_string())),
            max: text(rules.max.map(|v| v.to_string())),
            max_bytes: text(rules.max_bytes.map(|v| v.to_string())),
            content_types: rules.allowed_content_types.join(", "),
            options: options_text(&field.options, prefs, default_locale),
        }
    }
}

/// Options as lines of `value = label` (the label in the page's language).
fn options_text(options: &[ChoiceOption], prefs: &Preferences, default_locale: &str) -> String {
    options
        .iter()
        .map(
            |option| match labels::pick(&option.labels, prefs, default_locale) {
                Some(label) => format!("{} = {}", option.value, label.text),
                None => option.value.clone(),
            },
        )
        .collect::<Vec<_>>()
        .join("\n")
}

/// Reads `value = label` lines into options; a label is set in `locale`, other languages'
/// labels of the same value are kept.
fn parse_options(text: &str, locale: &str, existing: &[ChoiceOption]) -> Vec<ChoiceOption> {
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let (value, label) = match line.split_once('=') {
                Some((value, label)) => (value.trim(), label.trim()),
                None => (line.trim(), ""),
            };
            let mut labels = existing
                .iter()
                .find(|o| o.value == value)
                .map(|o| o.labels.clone())
                .unwrap_or_default();
            if !label.is_empty() {
                labels.insert(locale.to_owned(), label.to_owned());
            }
            ChoiceOption {
                value: value.to_owned(),
                labels,
            }
        })
        .collect()
}

/// A typed-in number of a rule, or a message naming the input.
fn number<T: std::str::FromStr>(text: &str, name: &str) -> Result<Option<T>> {
    match text.trim() {
        "" => Ok(None),
        text => text
            .parse()
            .map(Some)
            .map_err(|_| Error::bad_input(format!("{name}: {text:?} is not a number"))),
    }
}

/// A template not in the tenant yet.
pub struct TemplateChoice {
    /// Template key.
    pub key: String,
    /// Label in the visit's language.
    pub label: String,
}

/// A kind the add form offers.
pub struct KindChoice {
    /// As the API names it (the form value).
    pub value: String,
    /// In the visit's language.
    pub label: String,
}

/// The designer page.
#[derive(Template)]
#[template(path = "fields.html")]
struct DesignerPage<'a> {
    chrome: Chrome<'a>,
    t: &'a Texts,
    problem: Option<String>,
    rows: Vec<Row>,
    kinds: Vec<KindChoice>,
    templates: Vec<TemplateChoice>,
    preview: Vec<FieldView>,
    designer_js: &'static str,
}

/// `GET /admin/fields`.
pub async fn page(State(state): State<Arc<AppState>>, visit: Visit) -> Response {
    show(&state, &visit, None).await
}

/// Renders the designer, with `problem` (a refused change) at the top.
async fn show(state: &AppState, visit: &Visit, problem: Option<Error>) -> Response {
    let Some(session) = signed_in(visit) else {
        return to_sign_in();
    };
    let status = problem.as_ref().map(Error::status);
    let built = async {
        let admin = session.admin()?;
        let fields = state.fields.of_tenant(&state.db, admin.tenant().id).await?;
        let card = profiles::read(&state.db, &state.fields, &admin, admin.user_id()?).await?;
        Ok::<_, Error>((fields.listed(&admin, true), card))
    };
    let (fields, card) = match built.await {
        Ok(found) => found,
        Err(error) => return refused(state, visit, error),
    };
    let chrome = Chrome::of(state, visit);
    let t = chrome.t;
    let prefs = Preferences(vec![visit.lang.code().to_owned()]);
    let default_locale = card.tenant.default_locale.clone();
    let label_of = |texts: &BTreeMap<String, String>, key: &str| {
        labels::label(texts, key, &prefs, &default_locale).text
    };
    let active: Vec<&FieldDefinition> = fields
        .iter()
        .map(AsRef::as_ref)
        .filter(|f| !f.is_archived())
        .collect();
    let rows = fields
        .iter()
        .map(|field| {
            let at = active.iter().position(|f| f.id == field.id);
            Row {
                id: field.id,
                key: field.key.as_str().to_owned(),
                kind: t.kind_name(field.kind).to_owned(),
                label: label_of(&field.labels, field.key.as_str()),
                builtin: field.builtin,
                archived: field.is_archived(),
                required: field.required,
                owner: choices(
                    t,
                    &[Access::Hidden, Access::Read, Access::Edit],
                    field.access.owner,
                ),
                member: choices(t, &[Access::Hidden, Access::Read], field.access.member),
                admin: choices(t, &[Access::Read, Access::Edit], field.access.admin),
                version: field.version,
                rules: RuleInputs::of(field, &prefs, &default_locale),
                up: at.is_some_and(|at| at > 0),
                down: at.is_some_and(|at| at + 1 < active.len()),
            }
        })
        .collect();
    let templates = templates::catalogue()
        .iter()
        .filter(|template| !fields.iter().any(|f| f.key == template.spec.key))
        .map(|template| TemplateChoice {
            key: template.spec.key.as_str().to_owned(),
            label: label_of(&template.spec.labels, template.spec.key.as_str()),
        })
        .collect();
    let labels = Labels {
        preferences: prefs.clone(),
        default_locale: &default_locale,
    };
    let preview = card
        .values
        .iter()
        .map(|value| {
            let mut view = controls::field_view(value, &card.files, &state.files, &labels, "/card");
            view.editable = false;
            view
        })
        .collect();
    let page = DesignerPage {
        problem: problem.map(|e| e.message()),
        rows,
        kinds: kinds(t),
        templates,
        preview,
        designer_js: super::assets::DESIGNER_PATH,
        t,
        chrome,
    };
    let mut response = render(&page);
    if let Some(status) = status {
        *response.status_mut() = status;
    }
    response
}

fn kind_name(kind: FieldKind) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn kinds(t: &Texts) -> Vec<KindChoice> {
    use sea_orm::Iterable;
    FieldKind::iter()
        .map(|kind| KindChoice {
            value: kind_name(kind),
            label: t.kind_name(kind).to_owned(),
        })
        .collect()
}

fn choices(t: &Texts, offered: &[Access], current: Access) -> Vec<AccessChoice> {
    offered
        .iter()
        .map(|&access| {
            let (value, label) = match access {
                Access::Hidden => ("HIDDEN", &t.access_hidden),
                Access::Read => ("READ", &t.access_read),
                Access::Edit => ("EDIT", &t.access_edit),
            };
            AccessChoice {
                value,
                label: label.clone(),
                selected: access == current,
            }
        })
        .collect()
}

/// The answer to a designer change: back to the designer when it went through; a refusal of
/// the viewer (signed out, not an admin) as on any page; else the designer with the reason.
async fn finish(state: &AppState, visit: &Visit, outcome: Result<()>) -> Response {
    match outcome {
        Ok(()) => Redirect::to(PAGE).into_response(),
        Err(error @ (Error::Forbidden(_) | Error::Unauthenticated(_))) => {
            refused(state, visit, error)
        }
        Err(error) => show(state, visit, Some(error)).await,
    }
}

/// The add-by-hand form.
#[derive(Deserialize)]
pub struct NewField {
    key: String,
    kind: FieldKind,
    label: String,
    #[serde(default)]
    options: String,
}

impl NewField {
    /// The field the form describes under `key`, labelled in `locale`, with the default access.
    fn spec(&self, key: FieldKey, locale: &str) -> FieldSpec {
        let mut labels = BTreeMap::new();
        if !self.label.trim().is_empty() {
            labels.insert(locale.to_owned(), self.label.trim().to_owned());
        }
        FieldSpec {
            key,
            kind: self.kind,
            labels,
            help: BTreeMap::new(),
            options: parse_options(&self.options, locale, &[]),
            rules: Default::default(),
            required: false,
            access: AccessLevels::or_defaults(None, None, None),
        }
    }
}

/// `POST /admin/fields`: adds a field at the end, labelled in the visit's language.
pub async fn create(
    State(state): State<Arc<AppState>>,
    visit: Visit,
    Form(form): Form<NewField>,
) -> Response {
    let locale = visit.lang.code();
    let outcome = async {
        let admin = visit.session.admin()?;
        let spec = form.spec(FieldKey::parse(form.key.trim())?, locale);
        store::create(&state.db, &state.fields, &admin, spec).await?;
        Ok(())
    }
    .await;
    finish(&state, &visit, outcome).await
}

/// A field as typed into a form, before it is saved.
#[derive(Template)]
#[template(path = "draft.html")]
struct DraftFragment<'a> {
    t: &'a Texts,
    field: FieldView,
}

/// What the preview is asked for: the add form as typed or, naming a stored `field`, its
/// settings form with the label typed.
#[derive(Deserialize)]
pub struct Draft {
    field: Option<String>,
    #[serde(default)]
    key: String,
    kind: Option<FieldKind>,
    #[serde(default)]
    label: String,
    #[serde(default)]
    options: String,
}

/// `GET /admin/fields/preview`: the field as typed, as the admin's own card would show it,
/// while the admin types (admins only, like the designer); nothing is stored.
pub async fn preview(
    State(state): State<Arc<AppState>>,
    visit: Visit,
    draft: std::result::Result<Query<Draft>, QueryRejection>,
) -> Response {
    let Some(session) = signed_in(&visit) else {
        return to_sign_in();
    };
    let built = async {
        let admin = session.admin()?;
        let Query(draft) = draft.map_err(|rejection| Error::bad_input(rejection.body_text()))?;
        let field = drafted(&state, &admin, visit.lang.code(), &draft).await?;
        let prefix = if draft.field.is_some() {
            "relabel"
        } else {
            "draft"
        };
        Ok::<_, Error>(draft_view(&state, &visit, &admin, field, prefix))
    };
    match built.await {
        Ok(field) => render(&DraftFragment {
            t: state.web.catalogue.texts(visit.lang),
            field,
        }),
        Err(error) => refused(&state, &visit, error),
    }
}

/// The definition a draft describes: the stored field relabelled in `locale`, or a new one
/// (under a stand-in key while the key typed is not a valid one yet).
async fn drafted(
    state: &AppState,
    admin: &Admin<'_>,
    locale: &str,
    draft: &Draft,
) -> Result<FieldDefinition> {
    if let Some(id) = &draft.field {
        let stored = field_of(state, admin, id).await?;
        let mut field = FieldDefinition::clone(&stored);
        field.spec.labels = relabelled(&stored.labels, locale, &draft.label);
        return Ok(field);
    }
    let new = NewField {
        key: draft.key.clone(),
        kind: draft
            .kind
            .ok_or_else(|| Error::bad_input("choose the new field's kind"))?,
        label: draft.label.clone(),
        options: draft.options.clone(),
    };
    let key = FieldKey::parse(new.key.trim()).or_else(|_| FieldKey::parse(DRAFT_KEY))?;
    Ok(FieldDefinition {
        id: Uuid::nil(),
        tenant_id: admin.tenant().id,
        spec: new.spec(key, locale),
        position: 0,
        builtin: false,
        archived_at: None,
        version: 0,
    })
}

/// The field's control on the admin's own card, empty; its ids carry `prefix-` so they stay
/// apart from the card preview's (field keys hold no `-`).
fn draft_view(
    state: &AppState,
    visit: &Visit,
    admin: &Admin<'_>,
    field: FieldDefinition,
    prefix: &str,
) -> FieldView {
    let own_card = Viewer {
        is_owner: true,
        standing: admin.standing(),
    };
    let value = CardValue {
        access: field_access(&field, own_card),
        field: Arc::new(field),
        value: None,
    };
    let labels = Labels {
        preferences: Preferences(vec![visit.lang.code().to_owned()]),
        default_locale: &admin.tenant().default_locale,
    };
    // Never posted: the fragment is outside htmx's reach (`hx-disable`).
    let mut view = controls::field_view(&value, &HashMap::new(), &state.files, &labels, PAGE);
    view.key = format!("{prefix}-{}", view.key);
    view
}

/// `labels` with the one of `locale` set to `typed`, or removed when nothing is typed.
fn relabelled(
    labels: &BTreeMap<String, String>,
    locale: &str,
    typed: &str,
) -> BTreeMap<String, String> {
    let mut labels = labels.clone();
    match typed.trim() {
        "" => labels.remove(locale),
        label => labels.insert(locale.to_owned(), label.to_owned()),
    };
    labels
}

/// `POST /admin/fields/templates`: adds the ticked catalogue fields.
pub async fn add_templates(
    State(state): State<Arc<AppState>>,
    visit: Visit,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let keys: Vec<String> = form
        .into_iter()
        .filter(|(name, _)| name == "template")
        .map(|(_, key)| key)
        .collect();
    let outcome = async {
        let admin = visit.session.admin()?;
        if keys.is_empty() {
            return Err(Error::bad_input("tick at least one field of the catalogue"));
        }
        store::add_templates(&state.db, &state.fields, &admin, &keys).await?;
        Ok(())
    }
    .await;
    finish(&state, &visit, outcome).await
}

/// A field's settings form.
#[derive(Deserialize)]
pub struct Settings {
    label: String,
    #[serde(default)]
    required: Option<String>,
    owner: Access,
    member: Access,
    admin: Access,
    version: i32,
}

/// `POST /admin/fields/{id}`: relabels the field in the visit's language (other languages
/// keep theirs) and sets required and access, against the version the page showed.
pub async fn update(
    State(state): State<Arc<AppState>>,
    visit: Visit,
    Path(id): Path<String>,
    Form(form): Form<Settings>,
) -> Response {
    let locale = visit.lang.code();
    let outcome = async {
        let admin = visit.session.admin()?;
        let field = field_of(&state, &admin, &id).await?;
        let changes = FieldChanges {
            labels: Some(relabelled(&field.labels, locale, &form.label)),
            required: Some(form.required.is_some()),
            owner_access: Some(form.owner),
            member_access: Some(form.member),
            admin_access: Some(form.admin),
            expected_version: Some(form.version),
            ..FieldChanges::default()
        };
        store::update(&state.db, &state.fields, &admin, field.id, changes).await?;
        Ok(())
    }
    .await;
    finish(&state, &visit, outcome).await
}

/// The field `id` of the admin's tenant.
async fn field_of(state: &AppState, admin: &Admin<'_>, id: &str) -> Result<Arc<FieldDefinition>> {
    let fields = state.fields.of_tenant(&state.db, admin.tenant().id).await?;
    Uuid::parse_str(id)
        .ok()
        .and_then(|id| fields.by_id(id).cloned())
        .ok_or_else(|| Error::NotFound(format!("this tenant has no field {id}")))
}

/// `POST /admin/fields/order` (drag and drop): the unarchived fields' new order, as `id`s.
pub async fn reorder(
    State(state): State<Arc<AppState>>,
    visit: Visit,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let outcome = async {
        let admin = visit.session.admin()?;
        let ids = form
            .iter()
            .filter(|(name, _)| name == "id")
            .map(|(_, id)| {
                Uuid::parse_str(id).map_err(|_| Error::bad_input(format!("{id} is not a field id")))
            })
            .collect::<Result<Vec<Uuid>>>()?;
        store::reorder(&state.db, &state.fields, &admin, &ids).await
    }
    .await;
    finish(&state, &visit, outcome).await
}

/// A field's validation form; inputs that do not apply to its kind are not sent.
#[derive(Deserialize)]
pub struct RulesForm {
    #[serde(default)]
    min_length: String,
    #[serde(default)]
    max_length: String,
    #[serde(default)]
    pattern: String,
    #[serde(default)]
    min: String,
    #[serde(default)]
    max: String,
    #[serde(default)]
    max_bytes: String,
    #[serde(default)]
    content_types: String,
    options: Option<String>,
    version: i32,
}

/// `POST /admin/fields/{id}/rules`: sets the kind's validation (and a choice field's options);
/// the domain checks that the rules fit the kind.
pub async fn set_rules(
    State(state): State<Arc<AppState>>,
    visit: Visit,
    Path(id): Path<String>,
    Form(form): Form<RulesForm>,
) -> Response {
    let locale = visit.lang.code().to_owned();
    let t = state.web.catalogue.texts(visit.lang);
    let outcome = async {
        let admin = visit.session.admin()?;
        let field = field_of(&state, &admin, &id).await?;
        let pattern = Some(form.pattern.trim()).filter(|p| !p.is_empty());
        let rules = Rules {
            min_length: number(&form.min_length, &t.min_length)?,
            max_length: number(&form.max_length, &t.max_length)?,
            pattern: pattern.map(str::to_owned),
            min: number(&form.min, &t.min_value)?,
            max: number(&form.max, &t.max_value)?,
            max_bytes: number(&form.max_bytes, &t.max_bytes)?,
            allowed_content_types: form
                .content_types
                .split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .collect(),
            compiled: None,
        };
        let changes = FieldChanges {
            rules: Some(rules),
            options: form
                .options
                .as_deref()
                .map(|text| parse_options(text, &locale, &field.options)),
            expected_version: Some(form.version),
            ..FieldChanges::default()
        };
        store::update(&state.db, &state.fields, &admin, field.id, changes).await?;
        Ok(())
    }
    .await;
    finish(&state, &visit, outcome).await
}

/// Where a field moves.
#[derive(Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// One place earlier.
    Up,
    /// One place later.
    Down,
}

/// The move form.
#[derive(Deserialize)]
pub struct Move {
    direction: Direction,
}

/// `POST /admin/fields/{id}/move`: swaps the field with its neighbour.
pub async fn move_field(
    State(state): State<Arc<AppState>>,
    visit: Visit,
    Path(id): Path<String>,
    Form(form): Form<Move>,
) -> Response {
    let outcome = async {
        let admin = visit.session.admin()?;
        let field = field_of(&state, &admin, &id).await?;
        let fields = state.fields.of_tenant(&state.db, admin.tenant().id).await?;
        let mut order: Vec<Uuid> = fields.listed(&admin, false).iter().map(|f| f.id).collect();
        let at = order
            .iter()
            .position(|&id| id == field.id)
            .ok_or_else(|| Error::bad_input("an archived field has no place to move from"))?;
        let to = match form.direction {
            Direction::Up => at.checked_sub(1),
            Direction::Down => Some(at + 1).filter(|&to| to < order.len()),
        };
        let to = to.ok_or_else(|| Error::bad_input("the field cannot move further"))?;
        order.swap(at, to);
        store::reorder(&state.db, &state.fields, &admin, &order).await
    }
    .await;
    finish(&state, &visit, outcome).await
}

/// The archive form.
#[derive(Deserialize)]
pub struct Archive {
    archived: bool,
    version: i32,
}

/// `POST /admin/fields/{id}/archive`: archives (values kept) or restores the field.
pub async fn archive(
    State(state): State<Arc<AppState>>,
    visit: Visit,
    Path(id): Path<String>,
    Form(form): Form<Archive>,
) -> Response {
    let outcome = async {
        let admin = visit.session.admin()?;
        let field = field_of(&state, &admin, &id).await?;
        store::set_archived(
            &state.db,
            &state.fields,
            &admin,
            field.id,
            form.archived,
            Some(form.version),
        )
        .await?;
        Ok(())
    }
    .await;
    finish(&state, &visit, outcome).await
}
