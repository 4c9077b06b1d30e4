//! fieldsync-web: the rep's app. A web server on 127.0.0.1 inside the `fieldsync` binary, over
//! the device's own store: server-rendered pages that work with no network, kept live by
//! server-sent events while the device syncs by itself.
//!
//! It holds no rule of its own: every page reads through the store, every form goes through
//! the same model and store operations as the command line ([`fieldsync_model::form`],
//! [`fieldsync_store::Store::update_lead`]), so a value the command line refuses is refused
//! here with the same words.
//!
//! - [`app`]: the shared state: where the store is, the sync status, the live signal.
//! - [`guard`]: what makes a local server safe: loopback, its own Host, the launch secret,
//!   no cross-site writes.
//! - [`syncing`]: the `sync --watch` loop, run inside the app, reporting to the header.
//! - [`live`]: server-sent events that tell open pages something changed.
//! - [`back`]: where the language switch may send a reader back to (the app's own pages).
//! - [`lang`], [`layout`], [`assets`], [`format`]: the page around each screen, in Chinese or English.
//! - [`error`], [`form`]: what a failure or a refused value looks like.
//! - [`screens`]: one module per screen.

rust_i18n::i18n!("locales", fallback = "en");

pub mod app;
pub mod assets;
pub mod back;
pub mod error;
pub mod form;
pub mod format;
pub mod guard;
pub mod lang;
pub mod layout;
pub mod live;
pub mod screens;
pub mod server;
pub mod syncing;

pub use app::App;
pub use server::{router, serve};
