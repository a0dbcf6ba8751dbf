//! The table definition, split by meaning: the file (`file`: CreateTable's JSON shape, its
//! rules, reading it), its SDK form for CreateTable (`sdk`), and the comparison of a definition
//! with a live table (`shape`: `Shape` and `diff`, pure). The names callers use are re-exported
//! here, so `schema::diff` and `schema::Schema` read as one module.

pub mod file;
pub mod sdk;
pub mod shape;

pub use file::{
    builtin, load, load_or_builtin, AttrDef, AttrType, BillingMode, Gsi, KeyElem, KeyType,
    ProjectionDef, ProjectionType, Schema, SchemaError, StreamSpec, StreamView, Throughput,
    BUILTIN, BUILTIN_NAME,
};
pub use sdk::SdkSchema;
pub use shape::{
    billing_of, diff, key_diff, keys_of, model_differences, shape_of, IndexShape, Key, Keys, Needs,
    Shape,
};
