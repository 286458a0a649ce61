//! `metrics()`, `health()` and the Prometheus families, as JSON text for `index.js` to parse
//! (`JSON.parse`, as the answers are). Translation only: the core's snapshot, health report and
//! families (`bearerguard::metrics`), with the API's camelCase keys for the first two; the
//! families keep the core's names, which `bearerguard/prometheus` hands to prom-client as they are.

use napi::Result;
use napi::bindgen_prelude::ClassInstance;
use napi_derive::napi;
use serde_json::Value;

use crate::validator::NativeValidator;

#[napi]
impl NativeValidator {
    /// The core's `MetricsSnapshot`, camelCase keys.
    #[napi]
    pub fn metrics_json(&self) -> Result<String> {
        camel_json(&self.inner.metrics())
    }

    /// The core's `Health`, camelCase keys.
    #[napi]
    pub fn health_json(&self) -> Result<String> {
        camel_json(&self.inner.health())
    }
}

/// The metric families of `validators`, merged by the core (each name once, with the samples
/// of every issuer), with the core's field names.
#[napi]
pub fn metric_families_json(validators: Vec<ClassInstance<'_, NativeValidator>>) -> Result<String> {
    let snapshots: Vec<_> = validators.iter().map(|v| v.inner.metrics()).collect();
    serde_json::to_string(&bearerguard::metrics::families(&snapshots)).map_err(reason)
}

fn reason(e: serde_json::Error) -> napi::Error {
    napi::Error::from_reason(e.to_string())
}

/// `value` serialized with every object key in camelCase (`sum_seconds` → `sumSeconds`).
fn camel_json(value: &impl serde::Serialize) -> Result<String> {
    let value = serde_json::to_value(value).map_err(reason)?;
    serde_json::to_string(&camel(value)).map_err(reason)
}

fn camel(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(map.into_iter().map(|(k, v)| (camel_key(&k), camel(v))).collect()),
        Value::Array(items) => Value::Array(items.into_iter().map(camel).collect()),
        other => other,
    }
}

fn camel_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    let mut upper = false;
    for c in key.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}
