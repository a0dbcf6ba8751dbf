//! Moving many items in and out: AWS's export-to-S3 layout (DYNAMODB_JSON: `format` for the
//! manifests, `data_file` for the gzip data files), reading and checking an export before
//! `import` writes anything (`export_read`, `import_check`), and the batch writer
//! shared by seed and import; seed's pipeline of writes, removals and settles (`seeding`), and what an import wrote to
//! each conversation (`touched`).
//!
//! May import: `rows`, `aws`, `model`, `term`, `errors`.

pub mod data_file;
pub mod diff;
pub mod export_read;
pub mod format;
pub mod import_check;
pub mod seeding;
pub mod touched;
pub mod typed_line;
pub mod write;
