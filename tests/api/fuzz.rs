//! Fuzzing over HTTP: queries and mutations generated from the checked-in `schema.graphql`
//! (right and wrong types, unknown fields and arguments, odd Unicode, huge numbers, deep and
//! wide documents, random variables), sent concurrently as every kind of caller. The service
//! must answer each with a code other than INTERNAL_SERVER_ERROR, never a 5xx, and keep serving.
//!
//! `FUZZ_SEED=<n>` replays a run, `FUZZ_CASES=<n>` resizes it (5 000 per database by default),
//! `FUZZ_FIRST=<i>` starts at case `i` (with `FUZZ_CASES=1`, replays one case alone).

use std::collections::HashMap;

use async_graphql::Positioned;
use async_graphql::parser::types::{
    BaseType, InputValueDefinition, Type, TypeKind, TypeSystemDefinition,
};
use futures::StreamExt;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use crate::common::TestApp;
use crate::storage_test;

const DEFAULT_CASES: usize = 5_000;
const CONCURRENCY: usize = 16;

/// The schema as the fuzzer reads it: fields of object types, fields of input types, enums.
struct Schema {
    objects: HashMap<String, Vec<Field>>,
    inputs: HashMap<String, Vec<Argument>>,
    enums: HashMap<String, Vec<String>>,
}

struct Field {
    name: String,
    arguments: Vec<Argument>,
    ty: Type,
}

struct Argument {
    name: String,
    ty: Type,
}

impl Schema {
    fn load() -> Schema {
        let document = async_graphql::parser::parse_schema(include_str!("../../schema.graphql"))
            .expect("schema.graphql parses");
        let mut schema = Schema {
            objects: HashMap::new(),
            inputs: HashMap::new(),
            enums: HashMap::new(),
        };
        for definition in document.definitions {
            let TypeSystemDefinition::Type(definition) = definition else {
                continue;
            };
            let name = definition.node.name.node.to_string();
            match definition.node.kind {
                TypeKind::Object(object) => {
                    let fields = object
                        .fields
                        .iter()
                        .map(|f| Field {
                            name: f.node.name.node.to_string(),
                            arguments: arguments(&f.node.arguments),
                            ty: f.node.ty.node.clone(),
                        })
                        .collect();
                    schema.objects.insert(name, fields);
                }
                TypeKind::InputObject(input) => {
                    schema.inputs.insert(name, arguments(&input.fields));
                }
                TypeKind::Enum(values) => {
                    let values = values.values.iter().map(|v| v.node.value.node.to_string());
                    schema.enums.insert(name, values.collect());
                }
                _ => {}
            }
        }
        schema
    }
}

/// A generated input value, rendered as a GraphQL literal or as JSON.
#[derive(Clone, Debug)]
enum Input {
    Null,
    Bool(bool),
    /// A number, kept as text so that it can be larger than any Rust type.
    Number(String),
    Text(String),
    /// An unpaired UTF-16 surrogate escape, which neither JSON nor GraphQL text can carry.
    LoneSurrogate,
    Enum(String),
    List(Vec<Input>),
    Object(Vec<(String, Input)>),
}

impl Input {
    fn graphql(&self, out: &mut String) {
        match self {
            Input::Null => out.push_str("null"),
            Input::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Input::Number(n) => out.push_str(n),
            Input::Text(text) => escape(text, out),
            Input::LoneSurrogate => out.push_str("\"\\ud800\""),
            Input::Enum(name) => out.push_str(name),
            Input::List(items) => {
                out.push('[');
                for item in items {
                    item.graphql(out);
                    out.push(' ');
                }
                out.push(']');
            }
            Input::Object(fields) => {
                out.push('{');
                for (name, value) in fields {
                    out.push_str(name);
                    out.push_str(": ");
                    value.graphql(out);
                    out.push(' ');
                }
                out.push('}');
            }
        }
    }

    fn json(&self, out: &mut String) {
        match self {
            Input::Null => out.push_str("null"),
            Input::Bool(_) | Input::Number(_) | Input::LoneSurrogate => self.graphql(out),
            Input::Text(text) | Input::Enum(text) => escape(text, out),
            Input::List(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.json(out);
                }
                out.push(']');
            }
            Input::Object(fields) => {
                out.push('{');
                for (i, (name, value)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    escape(name, out);
                    out.push(':');
                    value.json(out);
                }
                out.push('}');
            }
        }
    }
}

/// A string literal valid in both GraphQL and JSON: control characters as `\u` escapes.
fn escape(text: &str, out: &mut String) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Strings that break naive code: direction marks, combining characters, emoji sequences,
/// noncharacters, NUL, injections, overlong text.
fn odd_strings() -> Vec<String> {
    let mut strings: Vec<String> = [
        "",
        " ",
        "a",
        "Ada",
        "\u{200F}שלום עולם\u{200E}",
        "\u{202E}txt.exe",
        "e\u{301}\u{301}\u{301}\u{301}",
        "Z\u{337}\u{353}\u{36b}\u{30f}a\u{334}\u{339}",
        "👩‍👩‍👧‍👦🏳️‍🌈",
        "\u{FFFF}\u{FFFE}",
        "\u{FEFF}bom",
        "\u{10FFFF}",
        "nul\u{0}byte",
        "line\nbreak\ttab\r",
        "'; DROP TABLE users; --",
        "%s%n%x",
        "<script>alert(1)</script>",
        "\\",
        "\"",
        "İıßǅ",
        "job_title",
        "email",
        "given_name",
        "a@b.co",
        "not an email",
        "https://example.com/x?y=1",
        "+14155550100",
        "DE",
        "2024-02-29",
        "2023-02-30",
        "1970-01-01T00:00:00Z",
        "de-CH",
        "zz-Latn-XX-x-private",
        "acme",
        "crm",
        "../../etc/passwd",
        "00000000-0000-0000-0000-000000000000",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    strings.push("x".repeat(5_000));
    strings.push("é".repeat(3_000));
    strings
}

fn numbers() -> &'static [&'static str] {
    &[
        "0",
        "-1",
        "1",
        "7",
        "2147483647",
        "2147483648",
        "-2147483649",
        "9223372036854775808",
        "123456789012345678901234567890",
        "1e400",
        "-1e400",
        "1.5",
        "0.000000000000000000001",
        "1e-400",
    ]
}

/// Who sends a case.
#[derive(Clone, Copy, Debug)]
enum Caller {
    Anonymous,
    Member,
    Admin,
    Owner,
    Operator,
}

/// What the fuzzer knows about the running service: tokens and real ids to pick from.
struct World {
    tokens: HashMap<&'static str, String>,
    ids: Vec<String>,
    strings: Vec<String>,
}

/// One generated request.
struct Case {
    index: usize,
    caller: Caller,
    tenant: Option<&'static str>,
    body: String,
}

/// Generates one case from its own seed, so any case can be replayed alone.
struct Generator<'a> {
    rng: StdRng,
    schema: &'a Schema,
    world: &'a World,
    variables: Vec<(String, Type, Input)>,
    max_depth: usize,
}

impl Generator<'_> {
    fn chance(&mut self, percent: u32) -> bool {
        self.rng.random_ratio(percent, 100)
    }

    fn case(&mut self, index: usize) -> Case {
        let caller = *[
            Caller::Anonymous,
            Caller::Member,
            Caller::Admin,
            Caller::Owner,
            Caller::Operator,
        ]
        .choose(&mut self.rng)
        .unwrap_or(&Caller::Anonymous);
        let tenant = *[
            None,
            None,
            None,
            Some("acme"),
            Some("nowhere"),
            Some("acme' OR 1=1"),
        ]
        .choose(&mut self.rng)
        .unwrap_or(&None);
        let mutation = self.chance(40);
        self.max_depth = if self.chance(5) {
            self.rng.random_range(17..40)
        } else {
            self.rng.random_range(1..6)
        };
        let root = if mutation { "Mutation" } else { "Query" };
        let selection = self.selection_set(root, 0);
        let mut document = String::from(if mutation { "mutation" } else { "query" });
        if !self.variables.is_empty() {
            let declared: Vec<String> = self
                .variables
                .iter()
                .map(|(name, ty, _)| format!("${name}: {ty}"))
                .collect();
            document.push_str(&format!("({})", declared.join(", ")));
        }
        document.push(' ');
        document.push_str(&selection);
        if self.chance(3) {
            document = self.mangle(document);
        }
        let mut variables = String::from("{");
        for (i, (name, _, value)) in self.variables.iter().enumerate() {
            if i > 0 {
                variables.push(',');
            }
            variables.push_str(&format!("\"{name}\":"));
            value.json(&mut variables);
        }
        if self.chance(5) {
            variables.push_str(if self.variables.is_empty() { "" } else { "," });
            variables.push_str("\"unknown\": [1, {\"\\ud83d\": \"\\udc00\"}]");
        }
        variables.push('}');
        let mut query = String::new();
        escape(&document, &mut query);
        Case {
            index,
            caller,
            tenant,
            body: format!("{{\"query\": {query}, \"variables\": {variables}}}"),
        }
    }

    /// Damages a document: cut short, doubled, an unknown directive, or a stray bracket.
    fn mangle(&mut self, document: String) -> String {
        match self.rng.random_range(0..4) {
            0 => {
                let mut cut = self.rng.random_range(0..=document.len());
                while !document.is_char_boundary(cut) {
                    cut -= 1;
                }
                document[..cut].to_owned()
            }
            1 => format!("{document} {document}"),
            2 => document.replacen('{', "{ __typename @nope(x: 1) ", 1),
            _ => format!("{document}}}[("),
        }
    }

    fn selection_set(&mut self, type_name: &str, depth: usize) -> String {
        let Some(fields) = self.schema.objects.get(type_name) else {
            return String::new();
        };
        if depth >= self.max_depth {
            return "{ __typename }".into();
        }
        let wide = self.chance(2);
        let count = if wide {
            self.rng.random_range(50..300)
        } else {
            self.rng.random_range(1..4)
        };
        let mut out = String::from("{ ");
        for i in 0..count {
            if self.chance(3) {
                out.push_str("unknownField ");
                continue;
            }
            let Some(field) = fields.choose(&mut self.rng) else {
                break;
            };
            if wide || self.chance(10) {
                out.push_str(&format!("a{i}: "));
            }
            out.push_str(&field.name);
            let arguments = self.arguments(&field.arguments, depth);
            out.push_str(&arguments);
            if self.chance(3) {
                let flag = self.chance(50);
                out.push_str(&format!(" @include(if: {flag})"));
            }
            out.push(' ');
            let named = named_type(&field.ty);
            if self.schema.objects.contains_key(named) {
                let inner = self.selection_set(named, depth + 1);
                if self.chance(5) {
                    out.push_str(&format!("... on {named} {inner}"));
                } else {
                    out.push_str(&inner);
                }
            } else if self.chance(2) {
                out.push_str("{ id }");
            }
            out.push(' ');
        }
        out.push('}');
        out
    }

    fn arguments(&mut self, arguments: &[Argument], depth: usize) -> String {
        let mut parts = Vec::new();
        for argument in arguments {
            if argument.ty.nullable && self.chance(50) {
                continue;
            }
            let value = self.value(&argument.ty, depth);
            if self.chance(30) {
                let name = format!("v{}", self.variables.len());
                let ty = if self.chance(5) {
                    Type::new("JSON").unwrap_or_else(|| argument.ty.clone())
                } else {
                    argument.ty.clone()
                };
                parts.push(format!("{}: ${name}", argument.name));
                self.variables.push((name, ty, value));
            } else {
                let mut literal = format!("{}: ", argument.name);
                value.graphql(&mut literal);
                parts.push(literal);
            }
        }
        if self.chance(3) {
            parts.push("bogus: 1".into());
        }
        if parts.is_empty() {
            String::new()
        } else {
            format!("({})", parts.join(", "))
        }
    }

    /// A value for `ty`: mostly of that type, sometimes of any other.
    fn value(&mut self, ty: &Type, depth: usize) -> Input {
        if self.chance(5) {
            return self.anything(3);
        }
        if !ty.nullable && self.chance(2) {
            return Input::Null;
        }
        if ty.nullable && self.chance(10) {
            return Input::Null;
        }
        match &ty.base {
            BaseType::List(inner) => {
                let count = if self.chance(3) {
                    self.rng.random_range(50..200)
                } else {
                    self.rng.random_range(0..4)
                };
                Input::List((0..count).map(|_| self.value(inner, depth + 1)).collect())
            }
            BaseType::Named(name) => self.named(name, depth),
        }
    }

    fn named(&mut self, name: &str, depth: usize) -> Input {
        match name {
            "Int" | "Float" => self.number(),
            "Boolean" => Input::Bool(self.chance(50)),
            "String" | "DateTime" => self.text(),
            "ID" => self.id(),
            "JSON" => self.json(0),
            "Upload" => self.text(),
            _ => {
                if let Some(values) = self.schema.enums.get(name) {
                    let value = values.choose(&mut self.rng).cloned();
                    return Input::Enum(value.unwrap_or_else(|| "NOPE".into()));
                }
                let Some(fields) = self.schema.inputs.get(name) else {
                    return Input::Null;
                };
                if depth > 8 {
                    return Input::Object(Vec::new());
                }
                let mut object = Vec::new();
                for field in fields {
                    if field.ty.nullable && self.chance(40) {
                        continue;
                    }
                    object.push((field.name.clone(), self.value(&field.ty, depth + 1)));
                }
                if self.chance(5) {
                    object.push(("unknownField".into(), self.text()));
                }
                Input::Object(object)
            }
        }
    }

    fn number(&mut self) -> Input {
        let number = numbers().choose(&mut self.rng).copied().unwrap_or("0");
        Input::Number(number.to_owned())
    }

    fn text(&mut self) -> Input {
        if self.chance(2) {
            return Input::LoneSurrogate;
        }
        let text = self.world.strings.choose(&mut self.rng).cloned();
        Input::Text(text.unwrap_or_default())
    }

    fn id(&mut self) -> Input {
        if self.chance(70) {
            let id = self.world.ids.choose(&mut self.rng).cloned();
            return Input::Text(id.unwrap_or_default());
        }
        self.text()
    }

    /// A JSON document: usually small, sometimes past the app profile depth.
    fn json(&mut self, depth: usize) -> Input {
        let limit = if self.chance(5) { 40 } else { 4 };
        if depth >= limit || self.chance(30) {
            return self.anything(0);
        }
        if self.chance(70) {
            let count = self.rng.random_range(0..4);
            let fields = (0..count)
                .map(|i| (format!("k{i}"), self.json(depth + 1)))
                .collect();
            Input::Object(fields)
        } else {
            let count = self.rng.random_range(0..4);
            Input::List((0..count).map(|_| self.json(depth + 1)).collect())
        }
    }

    /// A value of any shape, nested at most `depth` deep.
    fn anything(&mut self, depth: usize) -> Input {
        match self.rng.random_range(0..if depth == 0 { 5 } else { 7 }) {
            0 => Input::Null,
            1 => Input::Bool(self.chance(50)),
            2 => self.number(),
            3 => self.text(),
            4 => Input::Enum("SOME_ENUM".into()),
            5 => Input::List(vec![self.anything(depth - 1), self.anything(depth - 1)]),
            _ => Input::Object(vec![("x".into(), self.anything(depth - 1))]),
        }
    }
}

fn arguments(list: &[Positioned<InputValueDefinition>]) -> Vec<Argument> {
    list.iter()
        .map(|a| Argument {
            name: a.node.name.node.to_string(),
            ty: a.node.ty.node.clone(),
        })
        .collect()
}

fn named_type(ty: &Type) -> &str {
    match &ty.base {
        BaseType::Named(name) => name.as_str(),
        BaseType::List(inner) => named_type(inner),
    }
}

/// Signs the callers in, gives the tenant the template fields and registers an app, and
/// collects the ids that generated requests refer to.
async fn prepare(app: &TestApp) -> World {
    let mut tokens = HashMap::new();
    tokens.insert("owner", app.user_token("fz-owner", &[("acme", "owner")]));
    tokens.insert("admin", app.user_token("fz-admin", &[("acme", "admin")]));
    tokens.insert("member", app.user_token("fz-member", &[("acme", "member")]));
    tokens.insert("operator", app.operator_token("fz-ops", &["*"]));
    let mut ids = vec!["crm".to_owned(), "acme".to_owned()];
    for role in ["owner", "admin", "member"] {
        ids.push(app.user_id(&tokens[role]).await);
    }
    let owner = &tokens["owner"];
    let templates = app.ok(owner, "{ fieldTemplates { key } }", json!({})).await;
    let keys: Vec<Value> = templates["fieldTemplates"]
        .as_array()
        .map(|list| list.iter().map(|t| t["key"].clone()).collect())
        .unwrap_or_default();
    app.ok(
        owner,
        "mutation($k: [String!]!) { addFieldsFromTemplates(templateKeys: $k) { __typename } }",
        json!({ "k": keys }),
    )
    .await;
    let fields = app
        .ok(owner, "{ fieldDefinitions { id key } }", json!({}))
        .await;
    let mut strings = odd_strings();
    for field in fields["fieldDefinitions"].as_array().into_iter().flatten() {
        ids.extend(field["id"].as_str().map(str::to_owned));
        strings.extend(field["key"].as_str().map(str::to_owned));
    }
    app.ok(
        &tokens["operator"],
        "mutation { createApp(input: {id: \"crm\", name: \"CRM\"}) { id } }",
        json!({}),
    )
    .await;
    World {
        tokens,
        ids,
        strings,
    }
}

/// What was wrong with one answer, and whether it is a failure another change is fixing.
struct Failure {
    case: usize,
    caller: Caller,
    problem: String,
    known: Option<&'static str>,
    body: String,
}

async fn send(app: &TestApp, world: &World, case: Case, postgres: bool) -> Option<Failure> {
    let mut request = app
        .client
        .post(format!("{}/graphql", app.base_url))
        .header("content-type", "application/json")
        .body(case.body.clone());
    let token = match case.caller {
        Caller::Anonymous => None,
        Caller::Member => Some("member"),
        Caller::Admin => Some("admin"),
        Caller::Owner => Some("owner"),
        Caller::Operator => Some("operator"),
    };
    if let Some(token) = token {
        request = request.bearer_auth(&world.tokens[token]);
    }
    if let Some(tenant) = case.tenant {
        request = request.header("X-Tenant-Id", tenant);
    }
    let started = std::time::Instant::now();
    let answer = request.send().await;
    let elapsed = started.elapsed();
    if elapsed > std::time::Duration::from_secs(2) {
        println!(
            "fuzz: case {} took {elapsed:?}: {}",
            case.index,
            clip(&case.body)
        );
    }
    let problem = match answer {
        Err(error) => Some(format!("no answer: {error}")),
        Ok(response) => {
            let status = response.status().as_u16();
            let text = response.text().await.unwrap_or_default();
            judge(status, &text)
        }
    }?;
    // PostgreSQL refuses U+0000 in text; the fix that cleans it is under way elsewhere.
    let known =
        (postgres && case.body.contains("\\u0000")).then_some("NUL byte (U+0000) on PostgreSQL");
    Some(Failure {
        case: case.index,
        caller: case.caller,
        problem,
        known,
        body: case.body.chars().take(2_000).collect(),
    })
}

/// `Some(problem)` when an answer is a server failure or lacks an error code.
fn judge(status: u16, text: &str) -> Option<String> {
    if status >= 500 {
        return Some(format!("HTTP {status}: {}", clip(text)));
    }
    let Ok(body) = serde_json::from_str::<Value>(text) else {
        return Some(format!("HTTP {status}, not JSON: {}", clip(text)));
    };
    for error in body["errors"].as_array().into_iter().flatten() {
        match error["extensions"]["code"].as_str() {
            None => return Some(format!("an error without a code: {error}")),
            Some("INTERNAL_SERVER_ERROR") => return Some(format!("internal error: {error}")),
            Some(_) => {}
        }
    }
    None
}

fn clip(text: &str) -> String {
    text.chars().take(300).collect()
}

fn env_number(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

storage_test!(generated_requests_never_break_the_service);
async fn generated_requests_never_break_the_service(app: TestApp) {
    let postgres = app.db.get_database_backend() == sea_orm::DatabaseBackend::Postgres;
    let seed = env_number("FUZZ_SEED").unwrap_or_else(rand::random);
    let cases = env_number("FUZZ_CASES").map_or(DEFAULT_CASES, |n| n as usize);
    let first = env_number("FUZZ_FIRST").unwrap_or(0) as usize;
    println!("fuzz: seed {seed}, {cases} cases (replay with FUZZ_SEED={seed} FUZZ_CASES={cases})");
    let schema = Schema::load();
    let world = prepare(&app).await;
    let generate = |index: usize| {
        Generator {
            rng: StdRng::seed_from_u64(seed.wrapping_add(index as u64)),
            schema: &schema,
            world: &world,
            variables: Vec::new(),
            max_depth: 1,
        }
        .case(index)
    };
    let started = std::time::Instant::now();
    let failures: Vec<Failure> = futures::stream::iter(first..first + cases)
        .map(|index| send(&app, &world, generate(index), postgres))
        .buffer_unordered(CONCURRENCY)
        .filter_map(|failure| async { failure })
        .collect()
        .await;

    println!("fuzz: sent in {:?}", started.elapsed());
    let health = reqwest::get(format!("{}/healthz", app.base_url)).await;
    assert!(
        health.is_ok_and(|r| r.status() == 200),
        "the service stopped serving (seed {seed})"
    );
    if failures.is_empty() {
        return;
    }
    let mut report = format!(
        "{} of {cases} cases failed (seed {seed}):\n",
        failures.len()
    );
    for failure in failures.iter().take(30) {
        report.push_str(&format!(
            "- case {} as {:?}{}: {}\n  request: {}\n",
            failure.case,
            failure.caller,
            failure
                .known
                .map(|known| format!(" [known: {known}]"))
                .unwrap_or_default(),
            failure.problem,
            failure.body
        ));
    }
    let unknown = failures.iter().filter(|f| f.known.is_none()).count();
    report.push_str(&format!(
        "{unknown} unexplained, {} known\n",
        failures.len() - unknown
    ));
    panic!("{report}");
}
