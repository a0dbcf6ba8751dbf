//! Reads as people ask for them: one partition newest first (access patterns A and B), key
//! schemas and key values from text, query and filter expressions, requests as data (sent, or
//! printed by `--explain`), and the shared ways of showing items and rows.
//!
//! May import: `aws`, `model`, `term`, `errors`.

pub mod explain;
pub mod expr;
pub mod keys;
pub mod partition;
pub mod render;
pub mod request;
pub mod show;
pub mod sink;
