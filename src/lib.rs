//! `ddb`: the DynamoDB side of Cruddur direct messages as one CLI.
//!
//! The binary (`src/main.rs`) is a thin shell over this library so that benchmarks and
//! examples can reuse the model and the generators without going through the CLI. The map of
//! folders, and which may import which, is in ARCHITECTURE.md; in short, from the bottom up:
//! `errors` ← `term` ← `model` ← `aws` ← `read`, `rows` ← `transfer`, `stream` ← `cmd` ← `cli`.

pub mod aws;
pub mod cli;
pub mod cmd;
pub mod errors;
pub mod model;
pub mod read;
pub mod rows;
pub mod stream;
pub mod term;
pub mod transfer;
