//! Reads as people ask for them: one partition newest first (access patterns A and B), any
//! partition with sort-key conditions and a filter (`query`), key schemas and key values from
//! text, query and filter expressions, requests as data (sent through `aws::pages`, or printed
//! by `--explain`), and the shared ways of showing items and rows.
//!
//! May import: `aws`, `model`, `term`, `errors`.

pub mod explain;
pub mod expr;
pub mod keys;
pub mod partition;
pub mod query;
pub mod render;
pub mod request;
pub mod show;
pub mod sink;
