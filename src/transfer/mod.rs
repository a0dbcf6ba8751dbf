//! Moving many items in and out: AWS's export-to-S3 layout (DYNAMODB_JSON), reading and
//! checking an export before `import` writes anything, and the batch writer shared by seed and
//! import.
//!
//! May import: `rows`, `aws`, `model`, `term`, `errors`.

pub mod export_read;
pub mod format;
pub mod import_check;
pub mod typed_line;
pub mod write;
