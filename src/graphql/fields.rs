//! Field definitions and templates: the tenant's schema of cards.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use entity::membership::Role;

use super::guard::RoleGuard;
use super::{Display, db, file_store, registry};
use crate::core::Member;
use crate::error::Error;
use crate::fields::labels::{self, Direction, Localized};
use crate::fields::store::{self, FieldChanges};
use crate::fields::templates::{self, FieldTemplate};
use crate::fields::{
    self as domain, AccessLevels, ChoiceOption, FieldDefinition, FieldKey, FieldSpec, Rules,
};
use crate::session::Session;

/// What kind of value a field holds; fixed at creation.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "crate::fields::FieldKind")]
pub enum FieldKind {
    /// One line of text.
    ShortText,
    /// Several lines of text.
    LongText,
    /// An uploaded image.
    Image,
    /// An uploaded file.
    File,
    /// On or off.
    Switch,
    /// One of the options.
    SingleChoice,
    /// Any of the options.
    MultiChoice,
    /// A decimal number.
    Number,
    /// A whole number.
    Integer,
    /// A date (YYYY-MM-DD).
    Date,
    /// An email address.
    Email,
    /// A phone number in E.164 form.
    Phone,
    /// An http(s) URL.
    Url,
    /// An ISO 3166-1 alpha-2 country code.
    Country,
}

/// An access level.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "crate::fields::Access")]
pub enum FieldAccess {
    /// Absent from responses.
    Hidden,
    /// Shown, not editable.
    Read,
    /// Shown and editable.
    Edit,
}

/// What other members may do with a field.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum MemberAccess {
    /// Absent from responses.
    Hidden,
    /// Shown, not editable.
    Read,
}

/// What admins may do with a field.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum AdminAccess {
    /// Shown, not editable.
    Read,
    /// Shown and editable.
    Edit,
}

impl From<MemberAccess> for domain::Access {
    fn from(access: MemberAccess) -> Self {
        match access {
            MemberAccess::Hidden => domain::Access::Hidden,
            MemberAccess::Read => domain::Access::Read,
        }
    }
}

impl From<AdminAccess> for domain::Access {
    fn from(access: AdminAccess) -> Self {
        match access {
            AdminAccess::Read => domain::Access::Read,
            AdminAccess::Edit => domain::Access::Edit,
        }
    }
}

/// Writing direction of a text.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum TextDirection {
    /// Left to right.
    Ltr,
    /// Right to left.
    Rtl,
}

impl From<Direction> for TextDirection {
    fn from(direction: Direction) -> Self {
        match direction {
            Direction::Ltr => TextDirection::Ltr,
            Direction::Rtl => TextDirection::Rtl,
        }
    }
}

/// A text in one locale.
#[derive(SimpleObject, Clone)]
pub struct LocalizedText {
    /// BCP 47 locale.
    locale: String,
    /// The text.
    text: String,
    /// Its writing direction.
    direction: TextDirection,
}

/// A text in one locale, as input.
#[derive(InputObject, Clone)]
pub struct LocalizedTextInput {
    /// BCP 47 locale (`en`, `pt-BR`, `ar`).
    locale: String,
    /// The text.
    text: String,
}

fn texts_out(texts: &BTreeMap<String, String>) -> Vec<LocalizedText> {
    texts
        .iter()
        .map(|(locale, text)| LocalizedText {
            direction: labels::direction_of(locale).into(),
            locale: locale.clone(),
            text: text.clone(),
        })
        .collect()
}

fn texts_in(texts: Vec<LocalizedTextInput>) -> BTreeMap<String, String> {
    texts.into_iter().map(|t| (t.locale, t.text)).collect()
}

/// A resolved label: its text, the locale it is in, its direction.
#[derive(SimpleObject)]
pub struct ResolvedText {
    /// The text.
    text: String,
    /// The locale it is in; null for the key's Title Case fallback.
    locale: Option<String>,
    /// Its writing direction.
    direction: TextDirection,
}

impl From<Localized> for ResolvedText {
    fn from(l: Localized) -> Self {
        ResolvedText {
            text: l.text,
            locale: l.locale,
            direction: l.direction.into(),
        }
    }
}

/// One option of a choice field.
pub struct ChoiceOptionView {
    option: ChoiceOption,
    display: Arc<Display>,
}

#[Object(name = "ChoiceOption")]
impl ChoiceOptionView {
    /// Stored value.
    async fn value(&self) -> &str {
        &self.option.value
    }

    /// Label in the request's locale.
    async fn label(&self) -> ResolvedText {
        self.display
            .label(&self.option.labels, &self.option.value)
            .into()
    }

    /// Every label.
    async fn labels(&self) -> Vec<LocalizedText> {
        texts_out(&self.option.labels)
    }
}

fn option_views(options: &[ChoiceOption], display: &Arc<Display>) -> Vec<ChoiceOptionView> {
    options
        .iter()
        .map(|option| ChoiceOptionView {
            option: option.clone(),
            display: display.clone(),
        })
        .collect()
}

/// An option of a choice field, as input.
#[derive(InputObject)]
pub struct ChoiceOptionInput {
    /// Stored value: a–z, 0–9, `_`, starting with a letter.
    value: String,
    /// Labels by locale.
    labels: Vec<LocalizedTextInput>,
}

/// Validation rules of a field.
#[derive(SimpleObject, InputObject, Default)]
#[graphql(input_name = "FieldValidationInput")]
pub struct FieldValidation {
    /// Fewest characters (texts).
    min_length: Option<u32>,
    /// Most characters (texts).
    max_length: Option<u32>,
    /// Regular expression the whole text must match.
    pattern: Option<String>,
    /// Smallest value (numbers).
    min: Option<f64>,
    /// Largest value (numbers).
    max: Option<f64>,
    /// Accepted content types (images and files).
    allowed_content_types: Option<Vec<String>>,
    /// Largest file in bytes.
    max_bytes: Option<u32>,
}

impl From<&Rules> for FieldValidation {
    fn from(rules: &Rules) -> Self {
        FieldValidation {
            min_length: rules.min_length,
            max_length: rules.max_length,
            pattern: rules.pattern.clone(),
            min: rules.min,
            max: rules.max,
            allowed_content_types: Some(rules.allowed_content_types.clone())
                .filter(|t| !t.is_empty()),
            max_bytes: rules
                .max_bytes
                .map(|b| u32::try_from(b).unwrap_or(u32::MAX)),
        }
    }
}

impl From<FieldValidation> for Rules {
    fn from(v: FieldValidation) -> Self {
        Rules {
            min_length: v.min_length,
            max_length: v.max_length,
            pattern: v.pattern,
            min: v.min,
            max: v.max,
            allowed_content_types: v.allowed_content_types.unwrap_or_default(),
            max_bytes: v.max_bytes.map(u64::from),
            compiled: None,
        }
    }
}

/// A field of the tenant's cards.
pub struct FieldDefinitionView {
    /// The definition.
    pub field: Arc<FieldDefinition>,
    /// How to show texts.
    pub display: Arc<Display>,
}

#[Object(name = "FieldDefinition")]
impl FieldDefinitionView {
    /// Id.
    async fn id(&self) -> ID {
        ID(self.field.id.to_string())
    }

    /// Immutable key.
    async fn key(&self) -> &str {
        self.field.key.as_str()
    }

    /// Immutable kind.
    async fn kind(&self) -> FieldKind {
        self.field.kind.into()
    }

    /// Label in the request's locale (fallback: base language, tenant default, key).
    async fn label(&self) -> ResolvedText {
        self.display
            .label(&self.field.labels, self.field.key.as_str())
            .into()
    }

    /// Every label.
    async fn labels(&self) -> Vec<LocalizedText> {
        texts_out(&self.field.labels)
    }

    /// Help text in the request's locale.
    async fn help(&self) -> Option<ResolvedText> {
        self.display.pick(&self.field.help).map(Into::into)
    }

    /// Every help text.
    async fn help_texts(&self) -> Vec<LocalizedText> {
        texts_out(&self.field.help)
    }

    /// Options of choice fields.
    async fn options(&self) -> Vec<ChoiceOptionView> {
        option_views(&self.field.options, &self.display)
    }

    /// Validation rules.
    async fn validation(&self) -> FieldValidation {
        (&self.field.rules).into()
    }

    /// Whether a value is required.
    async fn required(&self) -> bool {
        self.field.required
    }

    /// Display order.
    async fn position(&self) -> i32 {
        self.field.position
    }

    /// What the card's owner may do.
    async fn owner_access(&self) -> FieldAccess {
        self.field.access.owner.into()
    }

    /// What other members may do.
    async fn member_access(&self) -> FieldAccess {
        self.field.access.member.into()
    }

    /// What admins may do.
    async fn admin_access(&self) -> FieldAccess {
        self.field.access.admin.into()
    }

    /// Whether this is a built-in OpenID Connect claim.
    async fn builtin(&self) -> bool {
        self.field.builtin
    }

    /// Whether it is archived.
    async fn archived(&self) -> bool {
        self.field.is_archived()
    }

    /// Bumped by every change; send it back as `expectedVersion`.
    async fn version(&self) -> i32 {
        self.field.version
    }
}

/// A ready-made field of the catalogue.
pub struct FieldTemplateView {
    template: &'static FieldTemplate,
    display: Arc<Display>,
}

#[Object(name = "FieldTemplate")]
impl FieldTemplateView {
    /// The key the field gets.
    async fn key(&self) -> &str {
        self.template.spec.key.as_str()
    }

    /// Kind.
    async fn kind(&self) -> FieldKind {
        self.template.spec.kind.into()
    }

    /// Catalogue group (`work`, `contact`, `social`, `personal`, `preferences`, `documents`).
    async fn category(&self) -> &str {
        &self.template.category
    }

    /// Label in the request's locale.
    async fn label(&self) -> ResolvedText {
        self.display
            .label(&self.template.spec.labels, self.template.spec.key.as_str())
            .into()
    }

    /// Every label.
    async fn labels(&self) -> Vec<LocalizedText> {
        texts_out(&self.template.spec.labels)
    }

    /// Options of choice templates.
    async fn options(&self) -> Vec<ChoiceOptionView> {
        option_views(&self.template.spec.options, &self.display)
    }

    /// Validation rules.
    async fn validation(&self) -> FieldValidation {
        (&self.template.spec.rules).into()
    }
}

/// Input of `createFieldDefinition`.
#[derive(InputObject)]
pub struct CreateFieldInput {
    /// Key: a–z, 0–9, `_`, starting with a letter, at most 64; immutable.
    key: String,
    /// Kind; immutable.
    kind: FieldKind,
    /// Labels by locale.
    labels: Vec<LocalizedTextInput>,
    /// Help texts by locale.
    help: Option<Vec<LocalizedTextInput>>,
    /// Options (choice kinds).
    options: Option<Vec<ChoiceOptionInput>>,
    /// Validation rules.
    validation: Option<FieldValidation>,
    /// Whether a value is required (default false).
    required: Option<bool>,
    /// The card owner's access (default EDIT).
    owner_access: Option<FieldAccess>,
    /// Other members' access (default READ).
    member_access: Option<MemberAccess>,
    /// Admins' access (default EDIT).
    admin_access: Option<AdminAccess>,
}

/// Input of `updateFieldDefinition`: only what is sent changes; key and kind never do.
#[derive(InputObject)]
pub struct UpdateFieldInput {
    /// New labels (replace all).
    labels: Option<Vec<LocalizedTextInput>>,
    /// New help texts (replace all).
    help: Option<Vec<LocalizedTextInput>>,
    /// New options.
    options: Option<Vec<ChoiceOptionInput>>,
    /// New validation rules.
    validation: Option<FieldValidation>,
    /// New required flag.
    required: Option<bool>,
    /// New owner access.
    owner_access: Option<FieldAccess>,
    /// New member access.
    member_access: Option<MemberAccess>,
    /// New admin access.
    admin_access: Option<AdminAccess>,
    /// The version this change is based on; CONFLICT when stale.
    expected_version: Option<i32>,
}

fn options_in(options: Vec<ChoiceOptionInput>) -> Vec<ChoiceOption> {
    options
        .into_iter()
        .map(|o| ChoiceOption {
            value: o.value,
            labels: texts_in(o.labels),
        })
        .collect()
}

/// A template not added, and why.
#[derive(SimpleObject)]
pub struct SkippedTemplate {
    /// Template key.
    key: String,
    /// Why it was skipped.
    reason: String,
}

/// Outcome of `addFieldsFromTemplates`.
#[derive(SimpleObject)]
pub struct TemplateReport {
    /// Fields created.
    added: Vec<FieldDefinitionView>,
    /// Templates skipped.
    skipped: Vec<SkippedTemplate>,
}

/// Field queries.
#[derive(Default)]
pub struct FieldQuery;

#[Object]
impl FieldQuery {
    /// The active tenant's fields in order. Members see the fields they can see on their own
    /// card; admins see all, and archived ones on request.
    #[graphql(guard = "RoleGuard::new(Role::Member)")]
    async fn field_definitions(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Include archived fields (admins); default false.")]
        include_archived: Option<bool>,
        locale: Option<String>,
    ) -> async_graphql::Result<Vec<FieldDefinitionView>> {
        let member = Session::of(ctx)?.member()?;
        let fields = registry(ctx)?
            .of_tenant(db(ctx)?, member.tenant().id)
            .await?;
        let display = Display::of(ctx, locale.as_deref(), &member.tenant().default_locale);
        Ok(fields
            .listed(&member, include_archived.unwrap_or(false))
            .into_iter()
            .map(|field| FieldDefinitionView {
                field,
                display: display.clone(),
            })
            .collect())
    }

    /// The catalogue of ready-made fields.
    async fn field_templates(
        &self,
        ctx: &Context<'_>,
        locale: Option<String>,
    ) -> async_graphql::Result<Vec<FieldTemplateView>> {
        Session::of(ctx)?.principal()?;
        let display = Display::of(ctx, locale.as_deref(), crate::tenants::DEFAULT_LOCALE);
        Ok(templates::catalogue()
            .iter()
            .map(|template| FieldTemplateView {
                template,
                display: display.clone(),
            })
            .collect())
    }
}

/// Field mutations (admins of the active tenant).
#[derive(Default)]
pub struct FieldMutation;

#[Object]
impl FieldMutation {
    /// Adds a field at the end of the order.
    #[graphql(guard = "RoleGuard::new(Role::Admin)", tag = "admin")]
    async fn create_field_definition(
        &self,
        ctx: &Context<'_>,
        input: CreateFieldInput,
    ) -> async_graphql::Result<FieldDefinitionView> {
        let admin = Session::of(ctx)?.admin()?;
        let new = FieldSpec {
            key: FieldKey::parse(&input.key)?,
            kind: input.kind.into(),
            labels: texts_in(input.labels),
            help: texts_in(input.help.unwrap_or_default()),
            options: options_in(input.options.unwrap_or_default()),
            rules: input.validation.unwrap_or_default().into(),
            required: input.required.unwrap_or(false),
            access: AccessLevels::or_defaults(
                input.owner_access.map(Into::into),
                input.member_access.map(Into::into),
                input.admin_access.map(Into::into),
            ),
        };
        let created = store::create(db(ctx)?, registry(ctx)?, &admin, new).await?;
        Ok(view(ctx, &admin, created))
    }

    /// Changes a field's labels, help, options, validation, required flag or access.
    #[graphql(guard = "RoleGuard::new(Role::Admin)", tag = "admin")]
    async fn update_field_definition(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateFieldInput,
    ) -> async_graphql::Result<FieldDefinitionView> {
        let admin = Session::of(ctx)?.admin()?;
        let changes = FieldChanges {
            labels: input.labels.map(texts_in),
            help: input.help.map(texts_in),
            options: input.options.map(options_in),
            rules: input.validation.map(Into::into),
            required: input.required,
            owner_access: input.owner_access.map(Into::into),
            member_access: input.member_access.map(Into::into),
            admin_access: input.admin_access.map(Into::into),
            expected_version: input.expected_version,
        };
        let updated =
            store::update(db(ctx)?, registry(ctx)?, &admin, parse_id(&id)?, changes).await?;
        Ok(view(ctx, &admin, updated))
    }

    /// Sets the order of the fields: every unarchived field's id, once, in the new order.
    #[graphql(guard = "RoleGuard::new(Role::Admin)", tag = "admin")]
    async fn reorder_field_definitions(
        &self,
        ctx: &Context<'_>,
        ids: Vec<ID>,
    ) -> async_graphql::Result<Vec<FieldDefinitionView>> {
        let admin = Session::of(ctx)?.admin()?;
        let ids = ids.iter().map(parse_id).collect::<Result<Vec<_>, _>>()?;
        store::reorder(db(ctx)?, registry(ctx)?, &admin, &ids).await?;
        let fields = registry(ctx)?
            .of_tenant(db(ctx)?, admin.tenant().id)
            .await?;
        let display = Display::of(ctx, None, &admin.tenant().default_locale);
        Ok(fields
            .listed(&admin, false)
            .into_iter()
            .map(|field| FieldDefinitionView {
                field,
                display: display.clone(),
            })
            .collect())
    }

    /// Archives a field: hidden everywhere, values kept. With `expectedVersion`, a field changed since is
    /// CONFLICT.
    #[graphql(guard = "RoleGuard::new(Role::Admin)", tag = "admin")]
    async fn archive_field_definition(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: Option<i32>,
    ) -> async_graphql::Result<FieldDefinitionView> {
        let admin = Session::of(ctx)?.admin()?;
        let field = store::set_archived(
            db(ctx)?,
            registry(ctx)?,
            &admin,
            parse_id(&id)?,
            true,
            expected_version,
        )
        .await?;
        Ok(view(ctx, &admin, field))
    }

    /// Restores an archived field with its values. With `expectedVersion`, a field changed since is
    /// CONFLICT.
    #[graphql(guard = "RoleGuard::new(Role::Admin)", tag = "admin")]
    async fn restore_field_definition(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: Option<i32>,
    ) -> async_graphql::Result<FieldDefinitionView> {
        let admin = Session::of(ctx)?.admin()?;
        let field = store::set_archived(
            db(ctx)?,
            registry(ctx)?,
            &admin,
            parse_id(&id)?,
            false,
            expected_version,
        )
        .await?;
        Ok(view(ctx, &admin, field))
    }

    /// Deletes a field and all its values for good (operators granted the tenant only; admins
    /// archive instead); `confirmKey` repeats its key.
    #[graphql(guard = "RoleGuard::operator()", tag = "admin")]
    async fn purge_field_definition(
        &self,
        ctx: &Context<'_>,
        id: ID,
        confirm_key: String,
    ) -> async_graphql::Result<ID> {
        let operator = Session::of(ctx)?.operator()?;
        crate::profiles::purge_field(
            db(ctx)?,
            registry(ctx)?,
            file_store(ctx)?,
            &operator,
            parse_id(&id)?,
            &confirm_key,
        )
        .await?;
        Ok(id)
    }

    /// Adds fields from the catalogue; keys that exist already are skipped and reported.
    #[graphql(guard = "RoleGuard::new(Role::Admin)", tag = "admin")]
    async fn add_fields_from_templates(
        &self,
        ctx: &Context<'_>,
        template_keys: Vec<String>,
    ) -> async_graphql::Result<TemplateReport> {
        let admin = Session::of(ctx)?.admin()?;
        let report = store::add_templates(db(ctx)?, registry(ctx)?, &admin, &template_keys).await?;
        Ok(TemplateReport {
            added: report
                .added
                .into_iter()
                .map(|f| view(ctx, &admin, f))
                .collect(),
            skipped: report
                .skipped
                .into_iter()
                .map(|(key, reason)| SkippedTemplate { key, reason })
                .collect(),
        })
    }
}

fn view(ctx: &Context<'_>, member: &Member<'_>, field: FieldDefinition) -> FieldDefinitionView {
    FieldDefinitionView {
        field: Arc::new(field),
        display: Display::of(ctx, None, &member.tenant().default_locale),
    }
}

/// Parses an id argument; a malformed one is BAD_USER_INPUT.
pub fn parse_id(id: &ID) -> Result<uuid::Uuid, Error> {
    uuid::Uuid::parse_str(id).map_err(|_| Error::bad_input(format!("{:?} is not an id", id.0)))
}
