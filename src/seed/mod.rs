//! `userprofile seed`: fills a tenant with synthetic members for demos and benchmarks. Names
//! and values come in several scripts and with accents, about 30 % of the fields are left
//! empty, and everything derives from one seed value, so two runs with the same seed write
//! the same members (a second run into the same database adds none: the rows exist). Rows are
//! written in multi-row inserts, a batch of members per transaction, with the folded search
//! texts and sort names the normal write paths store, computed by their own functions.
//! A few members then get a photo through the upload path ([`avatars`]).

pub mod avatars;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use entity::{field_value, membership, user};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sea_orm::sea_query::{Alias, Expr, IntoIden, OnConflict, Query, SimpleExpr};
use sea_orm::{
    ActiveEnum, ActiveValue::Set, ConnectionTrait, DatabaseConnection, EntityTrait,
    TransactionTrait,
};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::core::capabilities::{GlobalOperator, Standing, TenantScope};
use crate::core::{Actor, FieldKey};
use crate::error::{Error, Result};
use crate::fields::store::FieldRegistry;
use crate::fields::validation::{Rules, check_value};
use crate::fields::{AccessLevels, ChoiceOption, FieldDefinition, FieldKind, FieldSpec};
use crate::profiles::search;
use crate::tenants::{self, NewTenant};
use crate::users::names;
use crate::users::search_documents::{self, Document, DocumentRules};

/// What to seed.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The tenant's slug; created when missing.
    pub tenant: String,
    /// How many members to add.
    pub members: u64,
    /// How many custom fields the tenant gets (created when missing, kinds in turn).
    pub fields: usize,
    /// The seed every name and value derives from.
    pub seed: u64,
    /// Members per transaction.
    pub batch: u64,
}

/// What a run did.
#[derive(Clone, Copy, Debug, Default)]
pub struct Seeded {
    /// Members written.
    pub members: u64,
    /// Field values written.
    pub values: u64,
}

/// The issuer seeded users are recorded under.
pub const ISSUER: &str = "urn:userprofile:seed";

/// The custom field kinds, in the order seeded fields take them.
const KINDS: [FieldKind; 12] = [
    FieldKind::ShortText,
    FieldKind::Email,
    FieldKind::Phone,
    FieldKind::Url,
    FieldKind::Number,
    FieldKind::Integer,
    FieldKind::Date,
    FieldKind::Switch,
    FieldKind::SingleChoice,
    FieldKind::MultiChoice,
    FieldKind::Country,
    FieldKind::LongText,
];

/// Rows per multi-row insert of values: 7 columns each stay under SQLite's 32 766 parameters.
const VALUE_ROWS: usize = 4_000;

/// The seeded tenant (created when missing) as the seed's operator acts in it.
pub async fn tenant_scope(db: &DatabaseConnection, slug: &str) -> Result<TenantScope> {
    let tenant = match tenants::find(db, slug).await? {
        Some(tenant) => tenant,
        None => {
            let operator = GlobalOperator::mint(Actor::Operator("seed".into()), true)?;
            let new = NewTenant {
                slug: slug.to_owned(),
                name: slug.to_owned(),
                default_locale: None,
                owner: None,
            };
            tenants::create(db, &operator, new).await?
        }
    };
    Ok(TenantScope::resolved(
        tenant,
        Standing::Operator,
        Actor::Operator("seed".into()),
    ))
}

/// Seeds `plan` into the database, calling `progress` with the members written so far after
/// each batch.
pub async fn run(
    db: &DatabaseConnection,
    plan: &Plan,
    mut progress: impl FnMut(u64),
) -> Result<Seeded> {
    plan.check()?;
    let registry = FieldRegistry::default();
    let scope = tenant_scope(db, &plan.tenant).await?;
    let tenant = scope.tenant().clone();
    let admin = scope.admin()?;
    let mut fields = Vec::new();
    for index in 0..plan.fields {
        let kind = KINDS[index % KINDS.len()];
        let key = FieldKey::parse(&format!("{}_{index}", kind_name(kind)))?;
        let existing = registry.of_tenant(db, tenant.id).await?;
        let field = match existing.by_key(key.as_str()) {
            Some(field) => field.clone(),
            None => {
                let spec = field_spec(key, kind, index);
                Arc::new(crate::fields::store::create(db, &registry, &admin, spec).await?)
            }
        };
        fields.push(field);
    }

    // The version first, then the rules: see `search_documents::version`.
    let version = search_documents::version(db, tenant.id).await?;
    let rules = DocumentRules::new(&crate::fields::store::fresh(db, tenant.id).await?);
    let searchable = Searchable { rules, version };
    let mut rng = StdRng::seed_from_u64(plan.seed);
    let mut seeded = Seeded::default();
    let start = DateTime::from_timestamp(1_704_067_200, 0).unwrap_or_default();
    let mut index = 0;
    while index < plan.members {
        let count = plan.batch.min(plan.members - index);
        let batch: Vec<Member> = (index..index + count)
            .map(|i| Member::new(&mut rng, plan.seed, i, start, &fields))
            .collect();
        seeded.values += write(db, tenant.id, &searchable, &batch).await?;
        index += count;
        seeded.members = index;
        progress(index);
    }
    Ok(seeded)
}

/// One synthetic member: the user, the card's values, and when they joined.
/// The username (and subject) of the seeded member `index` of seed `seed`.
fn username(seed: u64, index: u64) -> String {
    format!("seed{seed}-{index}")
}

struct Member {
    user: user::Model,
    values: Vec<(Uuid, Value, Option<String>)>,
}

impl Member {
    fn new(
        rng: &mut StdRng,
        seed: u64,
        index: u64,
        start: DateTime<Utc>,
        fields: &[Arc<FieldDefinition>],
    ) -> Member {
        let id = uuid::Builder::from_random_bytes(rng.random()).into_uuid();
        let (given, family, full) = person_name(rng);
        let username = username(seed, index);
        let joined = start + Duration::seconds(index as i64 * 7);
        let user = user::Model {
            id,
            issuer: ISSUER.to_owned(),
            subject: username.clone(),
            username: Some(username.clone()),
            email: Some(format!("{username}@example.org")),
            email_verified: rng.random_bool(0.8),
            claims: json!({"name": full, "given_name": given, "family_name": family}),
            claimed_tenants: None,
            created_at: joined,
            updated_at: joined,
            last_sign_in_at: joined,
            folded_identity: None,
        };
        let user = user::Model {
            folded_identity: crate::users::folded_identity_of(&user),
            ..user
        };
        let mut values = Vec::new();
        for field in fields {
            // About 30 % of the fields are left empty.
            if rng.random_bool(0.3) {
                continue;
            }
            let raw = raw_value(rng, field, &username);
            // Through the write path's own check, so the stored form is what a save stores.
            let Ok(value) = check_value(field, &raw) else {
                continue;
            };
            let folded = search::searchable(field, &value);
            values.push((field.id, value.to_json(), folded));
        }
        Member { user, values }
    }
}

/// How seeded cards' search documents are built, as every write path builds them.
struct Searchable {
    rules: DocumentRules,
    version: i32,
}

impl Searchable {
    fn document(&self, member: &Member) -> Document {
        self.rules.document(
            member.values.iter().map(|(f, _, t)| (*f, t.as_deref())),
            member.user.folded_identity.as_deref(),
        )
    }
}

/// Writes a batch of members in one transaction; returns how many values it wrote.
async fn write(
    db: &DatabaseConnection,
    tenant: Uuid,
    searchable: &Searchable,
    batch: &[Member],
) -> Result<u64> {
    let txn = db.begin().await?;
    let users = batch.iter().map(|m| {
        let u = &m.user;
        user::ActiveModel {
            id: Set(u.id),
            issuer: Set(u.issuer.clone()),
            subject: Set(u.subject.clone()),
            username: Set(u.username.clone()),
            email: Set(u.email.clone()),
            email_verified: Set(u.email_verified),
            claims: Set(u.claims.clone()),
            claimed_tenants: Set(None),
            created_at: Set(u.created_at),
            updated_at: Set(u.updated_at),
            last_sign_in_at: Set(u.last_sign_in_at),
            folded_identity: Set(u.folded_identity.clone()),
        }
    });
    user::Entity::insert_many(users)
        .on_conflict(OnConflict::column(user::Column::Id).do_nothing().to_owned())
        .exec_without_returning(&txn)
        .await?;
    let mut memberships = Query::insert();
    memberships.into_table(membership::Entity).columns([
        membership::Column::UserId.into_iden(),
        membership::Column::TenantId.into_iden(),
        membership::Column::Role.into_iden(),
        membership::Column::Source.into_iden(),
        membership::Column::IsPrimary.into_iden(),
        membership::Column::CardVersion.into_iden(),
        membership::Column::CreatedAt.into_iden(),
        membership::Column::UpdatedAt.into_iden(),
        membership::Column::SortName.into_iden(),
        Alias::new("search_member").into_iden(),
        Alias::new("search_admin").into_iden(),
        Alias::new("search_operator").into_iden(),
        Alias::new("search_version").into_iden(),
    ]);
    for m in batch {
        let document = searchable.document(m);
        let mut row: Vec<SimpleExpr> = vec![
            m.user.id.into(),
            tenant.into(),
            Expr::val(membership::Role::Member.to_value()),
            Expr::val(membership::Source::Service.to_value()),
            true.into(),
            1.into(),
            m.user.created_at.into(),
            m.user.updated_at.into(),
            names::sort_name(&m.user, &HashMap::new()).into(),
        ];
        row.extend(document.columns().map(|(_, text)| text.into()));
        row.push(searchable.version.into());
        memberships.values_panic(row);
    }
    memberships.on_conflict(
        OnConflict::columns([membership::Column::UserId, membership::Column::TenantId])
            .do_nothing()
            .to_owned(),
    );
    txn.execute_raw(txn.get_database_backend().build(&memberships))
        .await?;
    let rows: Vec<field_value::ActiveModel> = batch
        .iter()
        .flat_map(|m| {
            m.values
                .iter()
                .map(move |(field, value, folded)| field_value::ActiveModel {
                    tenant_id: Set(tenant),
                    user_id: Set(m.user.id),
                    field_id: Set(*field),
                    value: Set(value.clone()),
                    updated_at: Set(m.user.updated_at),
                    updated_by: Set("operator:seed".to_owned()),
                    folded: Set(folded.clone()),
                })
        })
        .collect();
    let written = rows.len() as u64;
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<_> = rows.by_ref().take(VALUE_ROWS).collect();
        field_value::Entity::insert_many(chunk)
            .on_conflict(
                OnConflict::columns([
                    field_value::Column::TenantId,
                    field_value::Column::UserId,
                    field_value::Column::FieldId,
                ])
                .do_nothing()
                .to_owned(),
            )
            .exec_without_returning(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(written)
}

fn kind_name(kind: FieldKind) -> &'static str {
    match kind {
        FieldKind::ShortText => "city",
        FieldKind::LongText => "bio",
        FieldKind::Email => "work_email",
        FieldKind::Phone => "mobile",
        FieldKind::Url => "homepage",
        FieldKind::Number => "height",
        FieldKind::Integer => "floor",
        FieldKind::Date => "hired",
        FieldKind::Switch => "remote",
        FieldKind::SingleChoice => "team",
        FieldKind::MultiChoice => "languages",
        FieldKind::Country => "country",
        FieldKind::Image | FieldKind::File => "file",
    }
}

/// Options of the seeded choice fields, with labels in three locales.
const OPTIONS: [(&str, &str, &str, &str); 6] = [
    ("red", "Red", "Rot", "Rouge"),
    ("blue", "Blue", "Blau", "Bleu"),
    ("green", "Green", "Grün", "Vert"),
    ("yellow", "Yellow", "Gelb", "Jaune"),
    ("black", "Black", "Schwarz", "Noir"),
    ("white", "White", "Weiß", "Blanc"),
];

fn field_spec(key: FieldKey, kind: FieldKind, index: usize) -> FieldSpec {
    let options = match kind {
        FieldKind::SingleChoice | FieldKind::MultiChoice => OPTIONS
            .iter()
            .map(|(value, en, de, fr)| ChoiceOption {
                value: (*value).to_owned(),
                labels: BTreeMap::from([
                    ("en".to_owned(), (*en).to_owned()),
                    ("de".to_owned(), (*de).to_owned()),
                    ("fr".to_owned(), (*fr).to_owned()),
                ]),
            })
            .collect(),
        _ => Vec::new(),
    };
    FieldSpec {
        labels: BTreeMap::from([(
            "en".to_owned(),
            format!("{} {index}", kind_name(kind).replace('_', " ")),
        )]),
        key,
        kind,
        help: BTreeMap::new(),
        options,
        rules: Rules::default(),
        required: false,
        access: AccessLevels::or_defaults(None, None, None),
    }
}

/// Given names and family names by script; CJK names are written family name first.
const NAMES: [(&[&str], &[&str], bool); 7] = [
    (
        &[
            "Zoë",
            "José",
            "François",
            "Łukasz",
            "Søren",
            "Ágnes",
            "Chloé",
            "Jürgen",
        ],
        &[
            "Müller",
            "Núñez",
            "Dvořák",
            "Øvergaard",
            "Çelik",
            "Đorđević",
            "Ångström",
        ],
        false,
    ),
    (
        &["Anna", "Lukas", "Emma", "Noah", "Mia", "Oliver"],
        &["Smith", "Berg", "Johnson", "Brown", "Taylor"],
        false,
    ),
    (
        &["Алёна", "Дмитрий", "Фёдор", "Ольга", "Сергей"],
        &["Петрова", "Смирнов", "Козлов", "Иванова"],
        false,
    ),
    (
        &["محمد", "فاطمة", "علي", "ليلى"],
        &["الحسن", "منصور", "حداد"],
        false,
    ),
    (
        &["דוד", "שרה", "יעל", "נועם"],
        &["כהן", "לוי", "מזרחי"],
        false,
    ),
    (
        &["小龙", "美玲", "翔太", "伟", "さくら"],
        &["李", "王", "佐藤", "张", "山田"],
        true,
    ),
    (
        &["Γιώργος", "Ελένη", "Νίκος", "Μαρία"],
        &["Παπαδόπουλος", "Οικονόμου", "Ζαχαρίου"],
        false,
    ),
];

fn pick<'a>(rng: &mut StdRng, items: &[&'a str]) -> &'a str {
    items[rng.random_range(0..items.len())]
}

/// A given name, a family name and the full name, in one script.
fn person_name(rng: &mut StdRng) -> (String, String, String) {
    let (given, family, family_first) = NAMES[rng.random_range(0..NAMES.len())];
    let (given, family) = (pick(rng, given), pick(rng, family));
    let full = match family_first {
        true => format!("{family}{given}"),
        false => format!("{given} {family}"),
    };
    (given.to_owned(), family.to_owned(), full)
}

const PLACES: [&str; 12] = [
    "São Paulo",
    "Zürich",
    "Kraków",
    "Reykjavík",
    "Москва",
    "القاهرة",
    "תל אביב",
    "東京",
    "北京",
    "Αθήνα",
    "Montréal",
    "Malmö",
];

const COUNTRIES: [&str; 12] = [
    "DE", "FR", "JP", "RU", "EG", "IL", "GR", "BR", "US", "CN", "IS", "SE",
];

/// A value for `field` as a client would send it.
fn raw_value(rng: &mut StdRng, field: &FieldDefinition, username: &str) -> Value {
    match field.kind {
        FieldKind::ShortText => json!(pick(rng, &PLACES)),
        FieldKind::LongText => {
            let (_, _, friend) = person_name(rng);
            json!(format!(
                "Lives in {}, works with {friend}.\nLikes {}.",
                pick(rng, &PLACES),
                pick(
                    rng,
                    &[
                        "crème brûlée",
                        "smørrebrød",
                        "борщ",
                        "寿司",
                        "φέτα",
                        "falafel"
                    ]
                )
            ))
        }
        FieldKind::Email => json!(format!("{username}.{}@example.com", field.position)),
        FieldKind::Phone => json!(format!("+49151{:08}", rng.random_range(0..100_000_000))),
        FieldKind::Url => json!(format!("https://example.com/{username}/{}", field.position)),
        FieldKind::Number => json!((rng.random_range(14_000..21_000) as f64) / 100.0),
        FieldKind::Integer => json!(rng.random_range(0..60)),
        FieldKind::Date => {
            let day = NaiveDate::from_ymd_opt(1960, 1, 1).unwrap_or_default()
                + Duration::days(rng.random_range(0..16_000));
            json!(day.format("%Y-%m-%d").to_string())
        }
        FieldKind::Switch => json!(rng.random_bool(0.5)),
        FieldKind::SingleChoice => json!(OPTIONS[rng.random_range(0..OPTIONS.len())].0),
        FieldKind::MultiChoice => {
            let picked: Vec<&str> = OPTIONS
                .iter()
                .filter(|_| rng.random_bool(0.3))
                .map(|o| o.0)
                .collect();
            json!(picked)
        }
        FieldKind::Country => json!(pick(rng, &COUNTRIES)),
        FieldKind::Image | FieldKind::File => Value::Null,
    }
}

impl Plan {
    /// Refuses plans that cannot be seeded.
    pub fn check(&self) -> Result<()> {
        if self.batch == 0 {
            return Err(Error::bad_input("the batch size must be at least 1"));
        }
        Ok(())
    }
}

/// Progress on standard error: a bar on a terminal, a plain line per tenth otherwise (logs,
/// CI).
pub enum Progress {
    /// indicatif's bar.
    Bar(indicatif::ProgressBar),
    /// Plain lines.
    Lines {
        /// The members to write.
        total: u64,
        /// The last tenth reported.
        reported: u64,
    },
}

impl Progress {
    /// Picks the form standard error can show.
    pub fn on_stderr(total: u64) -> Progress {
        use std::io::IsTerminal;
        if !std::io::stderr().is_terminal() {
            return Progress::Lines { total, reported: 0 };
        }
        let bar = indicatif::ProgressBar::with_draw_target(
            Some(total),
            indicatif::ProgressDrawTarget::stderr(),
        );
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{bar:40} {pos}/{len} members, {per_sec}, {eta} left",
        ) {
            bar.set_style(style);
        }
        Progress::Bar(bar)
    }

    /// Shows that `done` members are written.
    pub fn show(&mut self, done: u64) {
        match self {
            Progress::Bar(bar) => bar.set_position(done),
            Progress::Lines { total, reported } => {
                let tenth = done * 10 / (*total).max(1);
                if tenth > *reported {
                    *reported = tenth;
                    eprintln!("seeded {done} of {total} members");
                }
            }
        }
    }

    /// Ends the bar.
    pub fn finish(&self) {
        if let Progress::Bar(bar) = self {
            bar.finish();
        }
    }
}
