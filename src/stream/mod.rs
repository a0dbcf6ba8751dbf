//! The table's stream and the handler on it (access pattern D): records from either source
//! (a Lambda event or DynamoDB Streams), shard states and listings, the reader and its
//! checkpoints, the handler that moves GRP# rows through `rows`, dead letters, the report,
//! Lambda mode, its metrics (one EMF line per invocation) and the CloudFormation template that
//! deploys it. The handler's decisions are
//! pure and unit-tested without a network: what a record asks (`classify`), which record of a
//! conversation wins and what each comes to (`coalesce`, `outcome`); `handler` only reads,
//! calls and asks again.
//!
//! May import: `rows`, `aws`, `model`, `term`, `errors`.

pub mod checkpoint;
pub mod classify;
pub mod coalesce;
pub mod dead_letter;
pub mod event_json;
pub mod follow;
pub mod handler;
pub mod lambda;
pub mod listing;
pub mod metrics;
pub mod outcome;
pub mod record;
pub mod report;
pub mod sdk_record;
pub mod shard;
pub mod source;
pub mod tail;
pub mod template;
