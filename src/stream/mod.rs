//! The table's stream and the handler on it (access pattern D): records from either source
//! (a Lambda event or DynamoDB Streams), shard states, the reader and its checkpoints, the
//! handler that moves GRP# rows through `rows`, dead letters, the report, Lambda mode and the
//! CloudFormation template that deploys it.
//!
//! May import: `rows`, `aws`, `model`, `term`, `errors`.

pub mod checkpoint;
pub mod dead_letter;
pub mod handler;
pub mod lambda;
pub mod record;
pub mod report;
pub mod shard;
pub mod source;
pub mod template;
