//! Serde mirrors of the `batch/v1` Job API, shaped exactly as the API server
//! reads and writes them (camelCase, unset fields omitted, RFC 3339 times).
//! Nothing here depends on a particular format crate.

mod job;
pub mod keys;
mod meta;
mod pod;
mod pod_template;
mod status_patch;
pub(crate) mod string_enum;
mod to_value;
pub(crate) mod unknown;
mod value;

pub use job::*;
pub use meta::*;
pub use pod::*;
pub use pod_template::*;
pub use value::Value;
