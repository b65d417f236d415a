//! What a card's field looks like on a page: the control for its kind, its label in the visit's
//! language, its value as the control shows it; and a submitted control's text back into the
//! JSON value the domain validates (`fields::validation` stays the only judge).

use std::collections::HashMap;

use entity::file;
use serde_json::Value;
use uuid::Uuid;

use crate::fields::labels::{self, Preferences};
use crate::fields::{Access, FieldKind, FieldValue};
use crate::files::FileStore;
use crate::profiles::CardValue;

/// Thumbnail size (pixels) a preview shows.
const PREVIEW_SIZE: u32 = 128;

/// The HTML control a field kind is edited with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Control {
    /// `<input type=…>`: text, email, tel, url, number, date.
    Input(&'static str),
    /// `<textarea>`.
    TextArea,
    /// A checkbox.
    Switch,
    /// `<select>` of the field's options (or of the countries).
    Select,
    /// A group of checkboxes.
    Checkboxes,
    /// A file picker with a preview.
    Upload,
}

impl Control {
    fn of(kind: FieldKind) -> Control {
        match kind {
            FieldKind::ShortText => Control::Input("text"),
            FieldKind::LongText => Control::TextArea,
            FieldKind::Email => Control::Input("email"),
            FieldKind::Phone => Control::Input("tel"),
            FieldKind::Url => Control::Input("url"),
            FieldKind::Number | FieldKind::Integer => Control::Input("number"),
            FieldKind::Date => Control::Input("date"),
            FieldKind::Switch => Control::Switch,
            FieldKind::SingleChoice | FieldKind::Country => Control::Select,
            FieldKind::MultiChoice => Control::Checkboxes,
            FieldKind::Image | FieldKind::File => Control::Upload,
        }
    }
}

/// One option of a select or checkbox group.
#[derive(Clone, Debug)]
pub struct OptionView {
    /// The stored value.
    pub value: String,
    /// Its label in the visit's language.
    pub label: String,
    /// Whether the card holds it.
    pub selected: bool,
}

/// An uploaded file as a field shows it.
#[derive(Clone, Debug)]
pub struct FilePreview {
    /// Signed URL of the file.
    pub url: String,
    /// Signed URL of a thumbnail, for images.
    pub thumbnail: Option<String>,
    /// The file's name.
    pub name: String,
}

/// What the page says under a field after a save.
#[derive(Clone, Debug)]
pub enum Notice {
    /// The value was saved.
    Saved,
    /// The save was refused; the message says why.
    Refused(String),
}

/// One field of a card, ready to render.
#[derive(Clone, Debug)]
pub struct FieldView {
    /// The field key (ids, form names).
    pub key: String,
    /// Label in the visit's language (or the key in Title Case).
    pub label: String,
    /// The label's language and direction (a label may fall back to another language).
    pub label_lang: String,
    /// `ltr` or `rtl`.
    pub label_dir: &'static str,
    /// Help text, if the field has one.
    pub help: Option<String>,
    /// Its control.
    pub control: Control,
    /// `step` of number inputs.
    pub step: Option<&'static str>,
    /// Whether the viewer may change it.
    pub editable: bool,
    /// Whether a value is required.
    pub required: bool,
    /// The value as a text control shows it.
    pub text: String,
    /// Whether a switch is on.
    pub on: bool,
    /// Options of selects and checkbox groups.
    pub options: Vec<OptionView>,
    /// The file of an upload field.
    pub file: Option<FilePreview>,
    /// Whether an upload field takes images.
    pub image: bool,
    /// Where a change is posted.
    pub post_url: String,
    /// The outcome of the latest save of this field.
    pub notice: Option<Notice>,
}

impl FieldView {
    /// Whether the latest save of this field went through.
    pub fn saved(&self) -> bool {
        matches!(self.notice, Some(Notice::Saved))
    }

    /// Why the latest save of this field was refused, if it was.
    pub fn refusal(&self) -> Option<&str> {
        match &self.notice {
            Some(Notice::Refused(reason)) => Some(reason),
            _ => None,
        }
    }
}

/// How labels are picked for a visit: its language first, then the tenant default.
pub struct Labels<'a> {
    /// The visit's preferences (its language).
    pub preferences: Preferences,
    /// The tenant's default locale.
    pub default_locale: &'a str,
}

impl Labels<'_> {
    /// The label of `texts` for this visit, or `key` in Title Case.
    pub fn text(&self, texts: &std::collections::BTreeMap<String, String>, key: &str) -> String {
        labels::label(texts, key, &self.preferences, self.default_locale).text
    }
}

/// Builds the view of one visible field; `post_base` is the card's URL for saves.
pub fn field_view(
    value: &CardValue,
    files: &HashMap<Uuid, file::Model>,
    store: &FileStore,
    labels: &Labels<'_>,
    post_base: &str,
) -> FieldView {
    let field = &value.field;
    let key = field.key.as_str().to_owned();
    let label = labels::label(
        &field.labels,
        &key,
        &labels.preferences,
        labels.default_locale,
    );
    let current = value.value.as_ref();
    let picked: Vec<&str> = match current {
        Some(FieldValue::Choice(one)) => vec![one.as_str()],
        Some(FieldValue::Choices(many)) => many.iter().map(String::as_str).collect(),
        Some(FieldValue::Text(text)) if field.kind == FieldKind::Country => vec![text.as_str()],
        _ => Vec::new(),
    };
    let options = match field.kind {
        FieldKind::Country => countries(&picked),
        _ => field
            .options
            .iter()
            .map(|option| OptionView {
                label: labels.text(&option.labels, &option.value),
                selected: picked.contains(&option.value.as_str()),
                value: option.value.clone(),
            })
            .collect(),
    };
    let file = current
        .and_then(FieldValue::file_id)
        .and_then(|id| files.get(&id))
        .map(|row| preview(store, row));
    FieldView {
        post_url: format!("{post_base}/fields/{key}"),
        help: labels::pick(&field.help, &labels.preferences, labels.default_locale)
            .map(|help| help.text),
        control: Control::of(field.kind),
        step: match field.kind {
            FieldKind::Integer => Some("1"),
            FieldKind::Number => Some("any"),
            _ => None,
        },
        editable: value.access == Access::Edit,
        required: field.required,
        text: current.map(text_of).unwrap_or_default(),
        on: matches!(current, Some(FieldValue::Bool(true))),
        options,
        file,
        image: field.kind == FieldKind::Image,
        label_lang: label.locale.unwrap_or_else(|| "en".to_owned()),
        label_dir: match label.direction {
            labels::Direction::Rtl => "rtl",
            labels::Direction::Ltr => "ltr",
        },
        label: label.text,
        key,
        notice: None,
    }
}

/// A text control's text of a value.
fn text_of(value: &FieldValue) -> String {
    match value {
        FieldValue::Text(text) | FieldValue::Choice(text) => text.clone(),
        FieldValue::Number(number) => number.to_string(),
        FieldValue::Integer(integer) => integer.to_string(),
        FieldValue::Date(date) => date.format(crate::fields::value::DATE_FORMAT).to_string(),
        FieldValue::Bool(_) | FieldValue::Choices(_) | FieldValue::File(_) => String::new(),
    }
}

/// The signed URLs of a file the viewer may see (the card read already checked that).
pub fn preview(store: &FileStore, row: &file::Model) -> FilePreview {
    let thumbnail = crate::files::thumbnail_sizes(row)
        .into_iter()
        .min_by_key(|size| size.abs_diff(PREVIEW_SIZE))
        .map(|size| store.signed_url(row.id, Some(size)))
        .or_else(|| {
            row.content_type
                .starts_with("image/")
                .then(|| store.signed_url(row.id, None))
        });
    FilePreview {
        url: store.signed_url(row.id, None),
        thumbnail,
        name: row.original_name.clone(),
    }
}

/// Every country as a select option (English names, by name), the `picked` ones selected.
pub fn countries(picked: &[&str]) -> Vec<OptionView> {
    let mut all: Vec<OptionView> = isocountry::CountryCode::iter()
        .map(|country| OptionView {
            value: country.alpha2().to_owned(),
            label: country.name().to_owned(),
            selected: picked.contains(&country.alpha2()),
        })
        .collect();
    all.sort_by(|a, b| a.label.cmp(&b.label));
    all
}

/// The JSON value a submitted control stands for: empty clears the field; numbers are sent as
/// numbers when they parse (validation words the error when they do not).
pub fn submitted_value(kind: FieldKind, values: &[String]) -> Value {
    let first = values.first().map(|v| v.trim()).unwrap_or_default();
    match kind {
        FieldKind::Switch => Value::Bool(values.iter().any(|v| v == "on")),
        FieldKind::MultiChoice if values.is_empty() => Value::Null,
        FieldKind::MultiChoice => Value::from(values.to_vec()),
        _ if first.is_empty() => Value::Null,
        FieldKind::Number | FieldKind::Integer => serde_json::from_str::<serde_json::Number>(first)
            .map_or_else(|_| Value::from(first), Value::Number),
        _ => Value::from(first),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(values: &[&str]) -> Vec<String> {
        values.iter().map(|v| (*v).to_owned()).collect()
    }

    #[test]
    fn submitted_texts_become_values_of_the_kind() {
        assert_eq!(
            submitted_value(FieldKind::ShortText, &texts([" Ada "].as_slice())),
            Value::from("Ada")
        );
        assert_eq!(
            submitted_value(FieldKind::ShortText, &texts(&[""])),
            Value::Null
        );
        assert_eq!(
            submitted_value(FieldKind::Integer, &texts(&["42"])),
            Value::from(42)
        );
        assert_eq!(
            submitted_value(FieldKind::Number, &texts(&["4x"])),
            Value::from("4x")
        );
        assert_eq!(
            submitted_value(FieldKind::Switch, &texts(&[])),
            Value::Bool(false)
        );
        assert_eq!(
            submitted_value(FieldKind::Switch, &texts(&["on"])),
            Value::Bool(true)
        );
        assert_eq!(
            submitted_value(FieldKind::MultiChoice, &texts(&["a", "b"])),
            serde_json::json!(["a", "b"])
        );
    }
}
