//! Python values <-> JSON values: config in (so its names are the core's), claims out.

use bearerguard::{Error, ErrorKind};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde_json::{Map, Number, Value};

/// Converts a config value (dicts, lists, tuples, str, int, float, bool, None, paths) to JSON.
/// `field` names where it sits, for the error.
pub fn to_json(obj: &Bound<'_, PyAny>, field: &str) -> Result<Value, Error> {
    let bad = |what: &str| Error::new(ErrorKind::Configuration, format!("invalid config: `{field}` {what}"));
    Ok(if obj.is_none() {
        Value::Null
    } else if let Ok(b) = obj.cast::<PyBool>() {
        Value::Bool(b.is_true())
    } else if obj.is_instance_of::<PyInt>() {
        match (obj.extract::<i64>(), obj.extract::<u64>()) {
            (Ok(i), _) => Value::from(i),
            (_, Ok(u)) => Value::from(u),
            _ => return Err(bad("is an integer out of range")),
        }
    } else if let Ok(f) = obj.cast::<PyFloat>() {
        Value::Number(Number::from_f64(f.value()).ok_or_else(|| bad("is not a finite number"))?)
    } else if let Ok(s) = obj.cast::<PyString>() {
        Value::String(s.to_str().map_err(|_| bad("is not valid UTF-8"))?.to_owned())
    } else if let Ok(dict) = obj.cast::<PyDict>() {
        let mut map = Map::new();
        for (k, v) in dict.iter() {
            let key: String = k.extract().map_err(|_| bad("has a key that is not a string"))?;
            let path = if field.is_empty() { key.clone() } else { format!("{field}.{key}") };
            map.insert(key, to_json(&v, &path)?);
        }
        Value::Object(map)
    } else if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
        let items = obj.try_iter().map_err(|_| bad("cannot be iterated"))?;
        Value::Array(
            items.map(|item| to_json(&item.map_err(|_| bad("failed"))?, field)).collect::<Result<_, _>>()?,
        )
    } else if obj.hasattr("__fspath__").unwrap_or(false) {
        let path = obj.call_method0("__fspath__").and_then(|p| p.extract::<String>());
        Value::String(path.map_err(|_| bad("is not a usable path"))?)
    } else {
        return Err(bad("has an unsupported type"));
    })
}

/// Converts a JSON value (claims) to Python objects.
pub fn to_py<'py>(py: Python<'py>, value: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => i.into_pyobject(py)?.into_any(),
            (_, Some(u)) => u.into_pyobject(py)?.into_any(),
            _ => n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any(),
        },
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(items) => {
            PyList::new(py, items.iter().map(|v| to_py(py, v)).collect::<PyResult<Vec<_>>>()?)?.into_any()
        }
        Value::Object(map) => to_dict(py, map)?.into_any(),
    })
}

/// Converts a JSON object (claims) to a dict.
pub fn to_dict<'py>(py: Python<'py>, map: &Map<String, Value>) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    for (k, v) in map {
        dict.set_item(k, to_py(py, v)?)?;
    }
    Ok(dict)
}

/// Extracts a list of strings (`what` names the argument): any iterable of strings, but not a
/// bare string, whose characters would each become an entry.
pub fn strings(obj: Option<&Bound<'_, PyAny>>, what: &str) -> PyResult<Vec<String>> {
    match obj {
        None => Ok(Vec::new()),
        Some(s) if s.is_instance_of::<PyString>() => {
            Err(PyTypeError::new_err(format!("{what} must be an iterable of strings, not a str")))
        }
        // Lists (what frameworks' `getlist` returns) and tuples without an iterator object.
        Some(list) if list.is_instance_of::<PyList>() => {
            list.cast::<PyList>()?.iter().map(|item| item.extract::<String>()).collect()
        }
        Some(tuple) if tuple.is_instance_of::<PyTuple>() => {
            tuple.cast::<PyTuple>()?.iter().map(|item| item.extract::<String>()).collect()
        }
        Some(it) => it.try_iter()?.map(|item| item?.extract::<String>()).collect(),
    }
}
