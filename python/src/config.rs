//! Config in: a Python mapping becomes the JSON value the core deserializes, so its names are
//! the core's; and the core's list of accepted key paths, for the typed `ValidatorConfig`.

use bearerguard::Config;
use pyo3::prelude::*;

use crate::errors::{Failure, guard};

/// The core config from a mapping of its fields (`None`: no fields at all).
pub fn from_py(obj: Option<&Bound<'_, PyAny>>) -> Result<Config, Failure> {
    let value = match obj {
        Some(obj) => guard(|| crate::convert::to_json(obj, ""))?,
        None => serde_json::Value::Object(Default::default()),
    };
    guard(|| Config::from_value(value))
}

/// Every key path the core's config accepts, nested ones dotted (`"cache.max_ttl_secs"`),
/// aliases included.
#[pyfunction]
pub fn config_fields() -> Vec<String> {
    Config::field_paths()
}
