//! THE INVARIANT: each participant has exactly one GRP# row per conversation, carrying the
//! newest message of it that still exists. This folder holds the one guarded primitive that
//! keeps it (`settle`), used by the stream handler and by every writer that seeds or imports.
//!
//! May import: `aws`, `model`, `term`, `errors`.

pub mod seeded;
pub mod settle;
