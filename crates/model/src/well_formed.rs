//! What a document must hold to be read as a lead or as the team document, checked by the
//! relay before it acknowledges a push and by a device before it stores what the relay sent.
//!
//! The check is structural and cheap (a few root registers, no hydration): a lead names
//! itself (`id` equal to the document's id), says its schema version, when and by whom it was
//! created, and its owner register holds a name or null; the team document's `pipeline` and
//! `members` are maps when present. A document that fails it is one no device can show: the
//! relay refuses it, and a device sets it aside instead of asking for it again.

use automerge::transaction::Transactable;
use automerge::{AutomergeError, ROOT, ReadDoc, ScalarValue, Value};
use thiserror::Error;

use crate::TEAM_DOC_ID;
use crate::schema::key;

/// Why a document cannot be read as what its id says it is.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum DocumentError {
    /// A lead's `id` register is missing or names another document.
    #[error("document {id} does not name itself: its 'id' is {found}")]
    WrongId {
        /// The document's id.
        id: String,
        /// What its `id` register holds, as text.
        found: String,
    },
    /// A register every lead has is missing or of the wrong type.
    #[error("document {id} has no valid '{register}' ({expected})")]
    Missing {
        /// The document's id.
        id: String,
        /// The register.
        register: &'static str,
        /// What it should hold.
        expected: &'static str,
    },
    /// The owner register holds something that is not a member's name or null.
    #[error("document {id} has an owner that is not a member's name: {found}")]
    BadOwner {
        /// The document's id.
        id: String,
        /// The value, as text.
        found: String,
    },
    /// The team document's layout is broken.
    #[error("the team document's '{0}' is not a map")]
    BadTeam(&'static str),
}

/// Checks that `doc`, stored under `id`, reads as a lead or, for [`TEAM_DOC_ID`], as the
/// team document.
pub fn check_document(id: &str, doc: &impl ReadDoc) -> Result<(), DocumentError> {
    if id == TEAM_DOC_ID {
        return check_team(doc);
    }
    let missing = |register, expected| DocumentError::Missing {
        id: id.to_owned(),
        register,
        expected,
    };
    match root_scalar(doc, key::ID) {
        Some(ScalarValue::Str(found)) if found.as_str() == id => {}
        other => {
            return Err(DocumentError::WrongId {
                id: id.to_owned(),
                found: describe(other.as_ref()),
            });
        }
    }
    match root_scalar(doc, key::SCHEMA) {
        Some(ScalarValue::Uint(version)) if version >= 1 => {}
        Some(ScalarValue::Int(version)) if version >= 1 => {}
        _ => return Err(missing(key::SCHEMA, "a schema version from 1")),
    }
    if !matches!(
        root_scalar(doc, key::CREATED_AT),
        Some(ScalarValue::Timestamp(_) | ScalarValue::Int(_))
    ) {
        return Err(missing(key::CREATED_AT, "a time"));
    }
    if !matches!(root_scalar(doc, key::CREATED_BY), Some(ScalarValue::Str(_))) {
        return Err(missing(key::CREATED_BY, "a member's name"));
    }
    check_owner(id, doc)
}

/// Writes into `doc` the least a lead must hold to pass [`check_document`] under `id`, created
/// by `created_by` at the start of 1970: for programs that make lead documents by hand to
/// drive the relay (benchmarks, raw-protocol tests). Real leads are made by
/// [`crate::LeadDoc::create`].
pub fn put_skeleton(
    doc: &mut impl Transactable,
    id: &str,
    created_by: &str,
) -> Result<(), AutomergeError> {
    doc.put(ROOT, key::ID, id)?;
    doc.put(ROOT, key::SCHEMA, crate::schema::SCHEMA_VERSION)?;
    doc.put(ROOT, key::CREATED_AT, ScalarValue::Timestamp(0))?;
    doc.put(ROOT, key::CREATED_BY, created_by)
}

/// Checks that every value of a lead's owner register (several while a conflict stands) is a
/// name or null.
fn check_owner(id: &str, doc: &impl ReadDoc) -> Result<(), DocumentError> {
    for (value, _) in doc.get_all(ROOT, key::OWNER).unwrap_or_default() {
        match &value {
            Value::Scalar(scalar) => match scalar.as_ref() {
                ScalarValue::Null => {}
                ScalarValue::Str(name) if !name.is_empty() => {}
                other => {
                    return Err(DocumentError::BadOwner {
                        id: id.to_owned(),
                        found: describe(Some(other)),
                    });
                }
            },
            Value::Object(kind) => {
                return Err(DocumentError::BadOwner {
                    id: id.to_owned(),
                    found: format!("a {kind}"),
                });
            }
        }
    }
    Ok(())
}

fn check_team(doc: &impl ReadDoc) -> Result<(), DocumentError> {
    for part in ["pipeline", "members"] {
        match doc.get(ROOT, part) {
            Ok(None) | Ok(Some((Value::Object(automerge::ObjType::Map), _))) => {}
            _ => return Err(DocumentError::BadTeam(part)),
        }
    }
    Ok(())
}

fn root_scalar(doc: &impl ReadDoc, register: &str) -> Option<ScalarValue> {
    match doc.get(ROOT, register) {
        Ok(Some((Value::Scalar(value), _))) => Some(value.into_owned()),
        _ => None,
    }
}

fn describe(value: Option<&ScalarValue>) -> String {
    match value {
        None => "missing".to_owned(),
        Some(ScalarValue::Str(text)) => format!("'{}'", text.escape_debug()),
        Some(other) => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use automerge::AutoCommit;
    use automerge::transaction::Transactable;

    fn lead(id: &str) -> AutoCommit {
        let mut doc = AutoCommit::new();
        doc.put(ROOT, key::ID, id).unwrap();
        doc.put(ROOT, key::SCHEMA, 1u64).unwrap();
        doc.put(ROOT, key::CREATED_AT, ScalarValue::Timestamp(1))
            .unwrap();
        doc.put(ROOT, key::CREATED_BY, "lina").unwrap();
        doc.put(ROOT, key::OWNER, "lina").unwrap();
        doc
    }

    #[test]
    fn a_lead_that_names_itself_passes_and_one_that_does_not_fails() {
        assert_eq!(check_document("abc", &lead("abc")), Ok(()));
        assert!(matches!(
            check_document("abc", &lead("xyz")),
            Err(DocumentError::WrongId { .. })
        ));
        let mut empty = AutoCommit::new();
        empty.put(ROOT, "company", "Poison").unwrap();
        assert!(matches!(
            check_document("abc", &empty),
            Err(DocumentError::WrongId { found, .. }) if found == "missing"
        ));
    }

    #[test]
    fn an_owner_must_be_a_name_or_null() {
        for bad in [
            ScalarValue::Int(7),
            ScalarValue::Boolean(true),
            ScalarValue::Str("".into()),
        ] {
            let mut doc = lead("abc");
            doc.put(ROOT, key::OWNER, bad).unwrap();
            assert!(matches!(
                check_document("abc", &doc),
                Err(DocumentError::BadOwner { .. })
            ));
        }
        let mut pool = lead("abc");
        pool.put(ROOT, key::OWNER, ScalarValue::Null).unwrap();
        assert_eq!(check_document("abc", &pool), Ok(()));
        let mut object = lead("abc");
        object
            .put_object(ROOT, key::OWNER, automerge::ObjType::Map)
            .unwrap();
        assert!(check_document("abc", &object).is_err());
    }

    #[test]
    fn a_missing_register_is_named() {
        let mut doc = lead("abc");
        doc.delete(ROOT, key::CREATED_BY).unwrap();
        assert_eq!(
            check_document("abc", &doc).unwrap_err().to_string(),
            "document abc has no valid 'created_by' (a member's name)"
        );
    }

    #[test]
    fn the_team_documents_parts_are_maps() {
        let mut team = AutoCommit::new();
        assert_eq!(check_document(TEAM_DOC_ID, &team), Ok(()));
        team.put(ROOT, "members", 3).unwrap();
        assert_eq!(
            check_document(TEAM_DOC_ID, &team),
            Err(DocumentError::BadTeam("members"))
        );
    }
}
