//! What validators counted and how healthy they are: the core's `MetricsSnapshot`, `Health`
//! and Prometheus families as JSON text for `index.js` to parse. Names, labels and merging
//! are the core's (`bearerguard::metrics`); the only change here is the API's camelCase for
//! the snapshot's and the health report's keys (`latencyBuckets`, `lastAnswerAt`, …). The
//! families keep the core's keys and label names as Prometheus writes them; `prometheus.js`
//! translates them for prom-client.

use napi::Result;
use napi::bindgen_prelude::ClassInstance;
use napi_derive::napi;
use serde::Serialize;
use serde_json::Value;

use crate::validator::NativeValidator;

/// `value` as JSON text with every object key in camelCase.
fn camel_json<T: Serialize>(report: &T) -> Result<String> {
    // Plain structs of numbers and strings: serializing them does not fail; if it ever did,
    // that is a bug to throw, not to panic on.
    let value = serde_json::to_value(report).map_err(|e| napi::Error::from_reason(e.to_string()))?;
    Ok(camel(value).to_string())
}

fn camel(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            Value::Object(map.into_iter().map(|(k, v)| (camel_key(&k), camel(v))).collect())
        }
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

#[napi]
impl NativeValidator {
    /// The validator's counters (`MetricsSnapshot`), as JSON text with camelCase keys.
    #[napi]
    pub fn metrics_json(&self) -> Result<String> {
        camel_json(&self.inner.metrics())
    }

    /// The validator's health (`Health`), as JSON text with camelCase keys.
    #[napi]
    pub fn health_json(&self) -> Result<String> {
        camel_json(&self.inner.health())
    }
}

/// The Prometheus metric families of every validator given, merged by the core (each name
/// once, with the samples of every issuer), as JSON text.
#[napi]
pub fn metric_families_json(validators: Vec<ClassInstance<'_, NativeValidator>>) -> Result<String> {
    let snapshots: Vec<_> = validators.iter().map(|v| v.inner.metrics()).collect();
    serde_json::to_string(&bearerguard::metrics::families(&snapshots))
        .map_err(|e| napi::Error::from_reason(e.to_string()))
}
