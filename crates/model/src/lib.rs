//! fieldsync's domain model: the lead document and everything a person can do to it.
//!
//! No I/O, no clock: callers pass "now" and the user's time zone in. The crate is the schema
//! of fieldsync's data, so the store, sync and analytics crates all build on it.
//!
//! - [`field`], [`validate`], [`when`], [`money`], [`vocab`]: turning typed text into checked values.
//! - [`form`]: a new lead or a follow-up as typed (flags or form fields), checked as one.
//! - [`number`]: lead numbers people can say on the phone (`LX2611KQM007`).
//! - [`pipeline`], [`templates`]: a team's stages, loss reasons and source channels.
//! - [`pipeline_edit`]: one change to a pipeline, as a manager asks for it.
//! - [`action`]: what a person does ([`NewLead`], [`Action`]), already parsed.
//! - [`doc`]: [`LeadDoc`], the Automerge document of one lead, which checks and applies actions.
//! - [`schema`]: the document's keys and layout.
//! - [`view`]: [`Lead`], the whole lead as read from its document (the JSON shape).
//! - [`row`]: [`LeadRow`], the compact projection the store keeps for lists and analytics.
//! - [`duplicate`]: leads that are probably the same customer.
//! - [`search`]: finding a lead by a piece of its company, contact, phone or email.
//! - [`heads`]: a document's heads as bytes, as stores and the sync protocol keep them.
//! - [`team`]: [`TeamDoc`], the team's pipeline and members, synced like a lead.
//! - [`plural`]: counts as a person reads them ("1 lead").
//! - [`resolve`]: the action that settles a conflict with the value a person chose.
//! - [`roles`]: who may do what, from the team's roster ([`Roster`]).
//! - [`visibility`]: who sees which lead, and the owner changes a rep may make ([`Access`]).
//! - [`lineage`]: which state of a lead a rep's change builds on, so a forged claim is refused.
//! - [`well_formed`]: what a document must hold to be a lead or the team document.
//! - [`history`]: who changed what and when, from Automerge's change metadata; the lead as of a date.
//!
//! ```
//! use fieldsync_model::{Action, Field, LeadDoc, LeadId, NewLead, Stamp, templates};
//! use automerge::{ActorId, ScalarValue};
//!
//! let pipeline = templates::b2b();
//! let now = "2024-03-20T09:00:00Z".parse().unwrap();
//! let stamp = Stamp { by: "alice".into(), now };
//! let new = NewLead {
//!     fields: vec![
//!         (Field::Company, ScalarValue::Str("A Tech Co.".into())),
//!         (Field::Contact, ScalarValue::Str("Zhang Wei".into())),
//!     ],
//!     owner: Some("alice".into()),
//!     created_at: now,
//!     number: None,
//! };
//! let mut doc = LeadDoc::create(&LeadId::random(), &new, &pipeline, &stamp, ActorId::random()).unwrap();
//! doc.apply(&[Action::Move { to: "discovery".into(), at: now }], &pipeline, &stamp).unwrap();
//! assert_eq!(doc.view().stage, "discovery");
//! assert_eq!(doc.view().stage_changes.len(), 2);
//! ```

pub mod action;
pub mod doc;
pub mod duplicate;
pub mod field;
pub mod form;
pub mod heads;
pub mod history;
pub mod id;
pub mod lineage;
pub mod money;
pub mod number;
pub mod pipeline;
pub mod pipeline_edit;
pub mod plural;
pub mod resolve;
pub mod roles;
pub mod row;
pub mod schema;
pub mod search;
pub mod team;
pub mod templates;
pub mod validate;
pub mod view;
pub mod visibility;
pub mod vocab;
pub mod well_formed;
pub mod when;

pub use action::{Action, FollowUpDraft, LeadHistory, NewLead, Stamp};
pub use doc::{LeadDoc, LeadError};
pub use field::{Field, ParseContext};
pub use id::LeadId;
pub use money::Money;
pub use pipeline::Pipeline;
pub use roles::{RoleError, Roster};
pub use row::LeadRow;
/// The text type of [`LeadRow`], re-exported so every crate names the same one.
pub use smol_str::SmolStr;
pub use team::{Member, Role, TEAM_DOC_ID, TeamDoc, TeamError};
pub use validate::ValidationError;
pub use view::{Lead, Outcome};
pub use visibility::{Access, VisibilityError};
pub use vocab::{ContactChannel, Priority};
pub use when::Due;
