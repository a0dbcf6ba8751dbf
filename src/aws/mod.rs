//! Every AWS call goes through here: the `Db` handle (clients, table, target, Ctrl-C token),
//! building the clients for DynamoDB Local or AWS, the one retry mechanism, the one page helper,
//! the one SDK-error classifier, and the table's lifecycle (describe, create, delete, wait).
//!
//! May import: `model`, `term`, `errors`. Never a command, and nothing above it.

pub mod classify;
pub mod client;
pub mod db;
pub mod interrupt;
pub mod pages;
pub mod parallel;
pub mod retry;
pub mod table;
pub mod target;

pub use db::Db;
