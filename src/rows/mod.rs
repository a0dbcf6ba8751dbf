//! THE INVARIANT: each participant has exactly one GRP# row per conversation, carrying the
//! newest message of it that still exists. This folder holds the one guarded primitive that
//! keeps it, used by the stream handler and by every writer that seeds or imports:
//! - `plan`: what each participant's rows become, given the rows and messages read (pure),
//!   and `preview`: a row carrying a message's text, cut to the item limit when it must be;
//! - `transaction`: a plan as one guarded TransactWriteItems, and what a cancelled one means
//!   (pure);
//! - `settle`: the reads and the transaction, through `aws` (I/O, short loops), and `error`:
//!   why they failed;
//! - `seeded`: settling every seeded or imported conversation, and `fresh`: starting the rows
//!   of a conversation that had nothing (seed's and import's only, never the handler's).
//!
//! May import: `aws`, `model`, `term`, `errors`.

pub mod error;
pub mod fresh;
pub mod plan;
pub mod preview;
pub mod seeded;
pub mod settle;
pub mod transaction;
