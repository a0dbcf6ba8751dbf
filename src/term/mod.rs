//! Output for people and programs: the output style (format, colour, terminal width), stdout
//! and stderr writers, the one function that makes text safe for a terminal, and a small YAML
//! writer. Knows nothing of tables or items.
//!
//! May import: `errors` only.

pub mod output;
pub mod safe;
pub mod yaml;
