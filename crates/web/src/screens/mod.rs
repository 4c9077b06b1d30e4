//! One module per screen, each a thin handler: read the query or form, call the store or the
//! model, render. What several screens show the same way lives here.

pub mod board;
pub mod lead;
pub mod lead_actions;
pub mod leads;
pub mod new_lead;
pub mod numbers;
pub mod today;

use fieldsync_model::Pipeline;
use fieldsync_model::pipeline::Label;

use crate::lang::Lang;

/// A label in the reader's language (English where it has no Chinese).
pub fn label(lang: Lang, label: &Label) -> String {
    match lang {
        Lang::Zh if !label.zh.is_empty() => label.zh.clone(),
        _ => label.en.clone(),
    }
}

/// A stage's name in the reader's language.
pub fn stage_name(lang: Lang, pipeline: &Pipeline, key: &str) -> String {
    pipeline
        .stage(key)
        .map_or_else(|| key.to_owned(), |stage| label(lang, &stage.label))
}

/// A source channel's name in the reader's language.
pub fn source_name(lang: Lang, pipeline: &Pipeline, key: &str) -> String {
    pipeline
        .sources
        .iter()
        .find(|source| source.key == key)
        .map_or_else(|| key.to_owned(), |source| label(lang, &source.label))
}

/// The owner as shown: a name, or the pool.
pub fn owner_name(lang: Lang, owner: Option<&str>) -> String {
    owner.map_or_else(|| lang.t("lead.pool").into_owned(), str::to_owned)
}
