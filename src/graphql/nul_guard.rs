//! The NUL rule for GraphQL requests: no variable or argument literal may hold U+0000, so no
//! resolver, whatever it stores, ever sees NUL (see [`crate::integrity::nul`]).

use async_graphql::parser::types::{Directive, ExecutableDocument, Selection, SelectionSet};
use async_graphql::{Name, Pos, Positioned, ServerResult, Value, Variables};
use async_graphql_value::Value as Literal;

use crate::integrity::nul::{self, Step, Tree};

/// Refuses a request whose variables or argument literals (anywhere in the document:
/// operations, fragments, directives, variable defaults) hold NUL, pointing at the first one.
pub fn check(variables: &Variables, document: &ExecutableDocument) -> ServerResult<()> {
    let mut found = Found::default();
    found.variables(variables, document);
    found.document(document);
    match nul::refusal(found.places) {
        None => Ok(()),
        Some(error) => {
            let mut refused = async_graphql::Error::from(error).into_server_error(Pos::default());
            refused.locations = found.first_location.into_iter().collect();
            Err(refused)
        }
    }
}

/// Request variables and variable defaults.
impl Tree for Value {
    fn text(&self) -> Option<&str> {
        match self {
            Value::String(text) => Some(text),
            _ => None,
        }
    }

    fn children<'a>(&'a self, visit: &mut dyn FnMut(Step<'a>, &'a Self)) {
        match self {
            Value::List(items) => items
                .iter()
                .enumerate()
                .for_each(|(i, item)| visit(Step::Index(i), item)),
            Value::Object(members) => members
                .iter()
                .for_each(|(name, member)| visit(Step::Member(name), member)),
            _ => {}
        }
    }
}

/// Argument literals; the variables in them are checked with the request's variables.
impl Tree for Literal {
    fn text(&self) -> Option<&str> {
        match self {
            Literal::String(text) => Some(text),
            _ => None,
        }
    }

    fn children<'a>(&'a self, visit: &mut dyn FnMut(Step<'a>, &'a Self)) {
        match self {
            Literal::List(items) => items
                .iter()
                .enumerate()
                .for_each(|(i, item)| visit(Step::Index(i), item)),
            Literal::Object(members) => members
                .iter()
                .for_each(|(name, member)| visit(Step::Member(name), member)),
            _ => {}
        }
    }
}

/// Where NUL was found: variables by JSON pointer (`/input/values/0/value`), literals by the
/// field path and argument (`renameTenant(name)`, `updateMyProfile(input)/values/0/value`),
/// variable defaults as `$name`.
#[derive(Default)]
struct Found {
    places: Vec<String>,
    first_location: Option<Pos>,
}

impl Found {
    fn add<T: Tree>(&mut self, value: &T, root: &str, at: Option<Pos>) {
        let places = nul::nul_pointers(value, root);
        if places.is_empty() {
            return;
        }
        if self.places.is_empty() {
            self.first_location = at;
        }
        self.places.extend(places);
    }

    fn variables(&mut self, variables: &Variables, document: &ExecutableDocument) {
        for (name, value) in variables.iter() {
            // Located at the variable's definition, when an operation defines it.
            let definition = document
                .operations
                .iter()
                .flat_map(|(_, operation)| &operation.node.variable_definitions)
                .find(|definition| definition.node.name.node == *name);
            self.add(value, &format!("/{name}"), definition.map(|d| d.pos));
        }
    }

    fn document(&mut self, document: &ExecutableDocument) {
        // Selection sets are walked with a stack: the parser bounds their nesting, but not
        // every future parser may.
        let mut sets: Vec<(String, &SelectionSet)> = Vec::new();
        for (_, operation) in document.operations.iter() {
            let operation = &operation.node;
            for definition in &operation.variable_definitions {
                if let Some(default) = &definition.node.default_value {
                    let root = format!("${}", definition.node.name.node);
                    self.add(&default.node, &root, Some(default.pos));
                }
                self.directives("", &definition.node.directives);
            }
            self.directives("", &operation.directives);
            sets.push((String::new(), &operation.selection_set.node));
        }
        for (name, fragment) in &document.fragments {
            self.directives("", &fragment.node.directives);
            sets.push((format!("...{name}"), &fragment.node.selection_set.node));
        }
        while let Some((path, set)) = sets.pop() {
            for selection in &set.items {
                match &selection.node {
                    Selection::Field(field) => {
                        let field = &field.node;
                        let key = field.response_key().node.as_str();
                        let at = if path.is_empty() {
                            key.to_owned()
                        } else {
                            format!("{path}.{key}")
                        };
                        self.arguments(&at, &field.arguments);
                        self.directives(&at, &field.directives);
                        sets.push((at, &field.selection_set.node));
                    }
                    Selection::FragmentSpread(spread) => {
                        self.directives(&path, &spread.node.directives);
                    }
                    Selection::InlineFragment(inline) => {
                        self.directives(&path, &inline.node.directives);
                        sets.push((path.clone(), &inline.node.selection_set.node));
                    }
                }
            }
        }
    }

    fn directives(&mut self, path: &str, directives: &[Positioned<Directive>]) {
        for directive in directives {
            let at = format!("{path}@{}", directive.node.name.node);
            self.arguments(&at, &directive.node.arguments);
        }
    }

    fn arguments(&mut self, at: &str, arguments: &[(Positioned<Name>, Positioned<Literal>)]) {
        for (name, value) in arguments {
            self.add(
                &value.node,
                &format!("{at}({})", name.node),
                Some(value.pos),
            );
        }
    }
}
