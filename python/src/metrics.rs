//! What validators counted and how healthy they are, as plain Python data: the core's
//! `MetricsSnapshot`, `Health` and Prometheus families, serialized by serde and converted with
//! `convert::to_py`. Names, labels and merging are the core's (`bearerguard::metrics`); the
//! `prometheus_client` collector (`bearerguard.prometheus`) only translates the families.

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyTuple;
use serde::Serialize;

use crate::validator::PyValidator;

/// Any of the core's serializable reports, as dicts and lists.
pub fn to_py<'py, T: Serialize>(py: Python<'py>, report: &T) -> PyResult<Bound<'py, PyAny>> {
    // Plain structs of numbers and strings: serializing them does not fail; if it ever did,
    // that is a bug to raise, not to panic on.
    let value = serde_json::to_value(report)
        .map_err(|e| PyRuntimeError::new_err(format!("bearerguard: cannot convert a report: {e}")))?;
    crate::convert::to_py(py, &value)
}

/// The Prometheus metric families of every validator given, merged by the core (each name
/// once, with the samples of every issuer).
#[pyfunction]
#[pyo3(signature = (*validators))]
pub fn metric_families<'py>(
    py: Python<'py>,
    validators: &Bound<'py, PyTuple>,
) -> PyResult<Bound<'py, PyAny>> {
    let snapshots = validators
        .iter()
        .map(|v| Ok(v.cast::<PyValidator>()?.get().current()?.metrics()))
        .collect::<PyResult<Vec<_>>>()?;
    to_py(py, &bearerguard::metrics::families(&snapshots))
}
