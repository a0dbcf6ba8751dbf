//! The single-table model and everything that is pure data: keys and items (`message`),
//! AttributeValue <-> JSON (`item`), stable ids, the schema (`schema/`: the file, its SDK form,
//! the comparison with a live table), the seed fixture and the plan of what seeding writes,
//! synthetic data, DynamoDB numbers (`number`: the one rule), and command-line values checked
//! once. A bad value is an `invalid::Invalid` naming where it is. No I/O but reading the input
//! files it parses.
//!
//! May import: `term`, `errors`.

pub mod changes;
pub mod checked;
pub mod fixture;
pub mod ids;
pub mod invalid;
pub mod item;
pub mod jsonfile;
pub mod message;
pub mod number;
pub mod schema;
pub mod seed_plan;
pub mod synthetic;
pub mod table_info;

pub use message::*;

/// The table every command uses unless `--table` (or `DDB_TABLE`) names another.
pub const DEFAULT_TABLE: &str = "cruddur-messages";
