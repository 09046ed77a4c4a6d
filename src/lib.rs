//! jetbase: database schema migrations, a drop-in reimplementation of Python Jetbase 0.18.1.
//!
//! The library owns everything; the `jetbase` binary is a thin wrapper over [`cli::run`].
//! Data flows one way: `cli` -> `config` -> `backend::connect` -> `ops` -> `report` -> `cli`.

// `jetbase::embed_migrations!` expands to `::jetbase::...` paths, which must resolve in this
// crate's own tests too.
extern crate self as jetbase;

pub mod backend;
pub mod cancel;
pub mod cli;
pub mod config;
pub mod db;
pub mod drivers;
pub mod env;
pub mod error;
pub mod history;
pub mod lock;
pub mod migration;
pub mod ops;
pub mod progress;
pub mod report;
pub mod retry;
pub mod schema;
pub mod tables;
pub mod timefmt;
pub mod url;

pub use error::Error;
/// Compiles a migrations folder into the program: see [`migration::EmbeddedMigrations`].
pub use jetbase_macros::embed_migrations;
