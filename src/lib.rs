//! `ddb`: the DynamoDB side of Cruddur direct messages as one CLI.
//!
//! The binary (`src/main.rs`) is a thin shell over this library so that benchmarks and
//! examples can reuse the model and the generators without going through the CLI.

pub mod cli;
pub mod client;
pub mod cmd;
pub mod db;
pub mod dead_letter;
pub mod errors;
pub mod fixture;
pub mod handler;
pub mod ids;
pub mod interrupt;
pub mod item;
pub mod jsonfile;
pub mod lambda;
pub mod lambda_template;
pub mod model;
pub mod output;
pub mod query;
pub mod render;
pub mod retry;
pub mod schema;
pub mod seed_plan;
pub mod stream_checkpoint;
pub mod stream_record;
pub mod stream_report;
pub mod stream_shard;
pub mod stream_source;
pub mod synthetic;
pub mod table;
pub mod write;
pub mod yaml;
