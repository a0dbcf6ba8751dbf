//! `ddb`: the DynamoDB side of Cruddur direct messages as one CLI.
//!
//! The binary (`src/main.rs`) is a thin shell over this library so that benchmarks and
//! examples can reuse the model and the generators without going through the CLI.

pub mod checked;
pub mod cli;
pub mod client;
pub mod cmd;
pub mod db;
pub mod dead_letter;
pub mod errors;
pub mod explain;
pub mod export_format;
pub mod export_read;
pub mod expr;
pub mod fixture;
pub mod handler;
pub mod ids;
pub mod import_check;
pub mod interrupt;
pub mod item;
pub mod jsonfile;
pub mod keys;
pub mod lambda;
pub mod lambda_template;
pub mod model;
pub mod output;
pub mod query;
pub mod render;
pub mod request;
pub mod retry;
pub mod safe;
pub mod schema;
pub mod seed_plan;
pub mod seed_rows;
pub mod settle;
pub mod show;
pub mod stream_checkpoint;
pub mod stream_record;
pub mod stream_report;
pub mod stream_shard;
pub mod stream_source;
pub mod synthetic;
pub mod table;
pub mod typed_line;
pub mod write;
pub mod yaml;
