//! Every AWS call goes through here: the `Db` handle (clients, table, target, Ctrl-C token),
//! building the clients for DynamoDB Local or AWS, the one retry mechanism, the one page helper,
//! the one SDK-error classifier, the table's lifecycle (describe, create, delete, wait), and the
//! catalogue of calls made with the deployed function's role and the IAM permissions each needs.
//!
//! May import: `model`, `term`, `errors`. Never a command, and nothing above it.

pub mod calls;
pub mod classify;
pub mod client;
pub mod db;
pub mod interrupt;
pub mod local;
pub mod pages;
pub mod parallel;
pub mod retry;
pub mod table;
pub mod target;

pub use db::Db;
