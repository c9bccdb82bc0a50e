//! Python bindings of the object codecs (`vlen-utf8`, `vlen-bytes`, `vlen-array`, `json2`,
//! `msgpack2`): object arrays in, bytes out, and back. The Python classes live in
//! `ndpack/_object_codecs.py`; these functions do the byte work (with the GIL released where the
//! work is on plain bytes) and convert between Python values and [`ObjectValue`]s.

use ndpack::codec::json2::Json2;
use ndpack::codec::msgpack2::MsgPack2;
use ndpack::codec::object::{vlen_spans, ObjectArray, ObjectValue, MAX_DEPTH};
use ndpack::codec::ArrayRef;
use ndpack::{DataType, Error};
use numpy::{PyArray1, PyReadonlyArray1};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};

use crate::errors::to_py;
use crate::memory::{bytes_from_slice, bytes_with, write_parts, PyMemory, RustBuffer};

/// The bytes of `data`: any C-contiguous buffer (the Python classes pass 1-d uint8 arrays).
fn input(data: &Bound<'_, PyAny>) -> PyResult<PyMemory> {
    PyMemory::c_contiguous(data, "input must be contiguous")
}

/// Writes the vlen framing of `items` into a new `bytes`.
fn vlen_bytes<'py>(py: Python<'py>, items: &[&[u8]]) -> PyResult<Bound<'py, PyBytes>> {
    let count = u32::try_from(items.len())
        .map_err(|_| PyValueError::new_err("too many items for the vlen format"))?;
    let mut total = 4usize;
    for it in items {
        if u32::try_from(it.len()).is_err() {
            return Err(PyValueError::new_err("item too long for the vlen format"));
        }
        total += 4 + it.len();
    }
    let count = count.to_le_bytes();
    let lens: Vec<[u8; 4]> = items
        .iter()
        .map(|it| (it.len() as u32).to_le_bytes())
        .collect();
    let mut parts: Vec<&[u8]> = Vec::with_capacity(1 + 2 * items.len());
    parts.push(&count);
    for (len, it) in lens.iter().zip(items) {
        parts.push(len);
        parts.push(it);
    }
    bytes_with(py, total, |out| write_parts(out, &parts))
}

/// numcodecs' missing-value rule: `None` and items equal to 0 encode as empty.
fn is_missing(item: &Bound<'_, PyAny>) -> PyResult<bool> {
    Ok(item.is_none() || item.eq(0)?)
}

/// Encodes a 1-d object array with the vlen framing: `item_bytes` gives the bytes of an item
/// of the codec's type (`None` for other items); missing items (see [`is_missing`]) encode as
/// empty, anything else is a `TypeError` expecting `what`.
fn vlen_encode_items<'py>(
    py: Python<'py>,
    values: PyReadonlyArray1<'py, Py<PyAny>>,
    what: &str,
    item_bytes: for<'a> fn(&'a Bound<'py, PyAny>) -> PyResult<Option<&'a [u8]>>,
) -> PyResult<Bound<'py, PyBytes>> {
    let values = values
        .as_slice()
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    let bound: Vec<Bound<'py, PyAny>> = values.iter().map(|v| v.bind(py).clone()).collect();
    let mut items: Vec<&[u8]> = Vec::with_capacity(bound.len());
    for item in &bound {
        if let Some(b) = item_bytes(item)? {
            items.push(b);
        } else if is_missing(item)? {
            items.push(b"");
        } else {
            return Err(PyTypeError::new_err(format!(
                "expected {what}, found {}",
                item.repr()?
            )));
        }
    }
    vlen_bytes(py, &items)
}

/// Encodes a 1-d object array of `str` (None/0 as empty) with the vlen-utf8 framing.
#[pyfunction]
fn vlen_utf8_encode<'py>(
    py: Python<'py>,
    values: PyReadonlyArray1<'py, Py<PyAny>>,
) -> PyResult<Bound<'py, PyBytes>> {
    vlen_encode_items(py, values, "unicode string", |item| {
        match item.cast::<PyString>() {
            Ok(s) => Ok(Some(s.to_str()?.as_bytes())),
            Err(_) => Ok(None),
        }
    })
}

/// Encodes a 1-d object array of `bytes` (None/0 as empty) with the vlen-bytes framing.
#[pyfunction]
fn vlen_bytes_encode<'py>(
    py: Python<'py>,
    values: PyReadonlyArray1<'py, Py<PyAny>>,
) -> PyResult<Bound<'py, PyBytes>> {
    vlen_encode_items(py, values, "byte string", |item| {
        Ok(item.cast::<PyBytes>().ok().map(|b| b.as_bytes()))
    })
}

/// Encodes a list of contiguous 1-d uint8 arrays (the items' bytes) with the vlen framing.
#[pyfunction]
fn vlen_array_encode<'py>(
    py: Python<'py>,
    items: Vec<Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyBytes>> {
    let items = items.iter().map(input).collect::<PyResult<Vec<_>>>()?;
    let slices: Vec<&[u8]> = items.iter().map(PyMemory::as_slice).collect();
    vlen_bytes(py, &slices)
}

/// The `(start, stop)` byte offsets of every item of vlen-framed `data`, as an int64 array of
/// shape `(n, 2)`; each item's length must be a multiple of `itemsize`.
#[pyfunction]
#[pyo3(signature = (data, itemsize = 1))]
fn vlen_offsets<'py>(
    py: Python<'py>,
    data: &Bound<'py, PyAny>,
    itemsize: usize,
) -> PyResult<Bound<'py, PyArray1<i64>>> {
    let data = input(data)?;
    let bytes = data.as_slice();
    let spans = py.detach(|| vlen_spans(bytes)).map_err(to_py)?;
    let mut flat = Vec::with_capacity(spans.len() * 2);
    for (i, r) in spans.iter().enumerate() {
        if itemsize > 1 && r.len() % itemsize != 0 {
            return Err(PyValueError::new_err(format!(
                "corrupt input: vlen-array item {i} has {} bytes, not a multiple of the item size {itemsize}",
                r.len()
            )));
        }
        flat.push(r.start as i64);
        flat.push(r.end as i64);
    }
    Ok(PyArray1::from_vec(py, flat))
}

/// Decodes vlen-utf8 bytes to a 1-d object array of `str`.
#[pyfunction]
fn vlen_utf8_decode<'py>(
    py: Python<'py>,
    data: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyArray1<Py<PyAny>>>> {
    let data = input(data)?;
    let bytes = data.as_slice();
    let spans = py.detach(|| vlen_spans(bytes)).map_err(to_py)?;
    let mut out: Vec<Py<PyAny>> = Vec::with_capacity(spans.len());
    for (i, r) in spans.into_iter().enumerate() {
        let s = std::str::from_utf8(&bytes[r]).map_err(|e| {
            to_py(Error::corrupt(format!(
                "vlen-utf8 item {i} is not UTF-8: {e}"
            )))
        })?;
        out.push(PyString::new(py, s).into_any().unbind());
    }
    Ok(PyArray1::from_vec(py, out))
}

/// Decodes vlen-bytes bytes to a 1-d object array of `bytes`.
#[pyfunction]
fn vlen_bytes_decode<'py>(
    py: Python<'py>,
    data: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyArray1<Py<PyAny>>>> {
    let data = input(data)?;
    let bytes = data.as_slice();
    let spans = py.detach(|| vlen_spans(bytes)).map_err(to_py)?;
    let out: Vec<Py<PyAny>> = spans
        .into_iter()
        .map(|r| PyBytes::new(py, &bytes[r]).into_any().unbind())
        .collect();
    Ok(PyArray1::from_vec(py, out))
}

/// Converts a Python value to an [`ObjectValue`]; `None` when the value has no exact form
/// there (the caller then uses the reference Python implementation, which gives numcodecs'
/// own result or error). `json` restricts to what JSON holds natively (str keys, no bytes).
fn to_value(v: &Bound<'_, PyAny>, depth: usize, json: bool) -> PyResult<Option<ObjectValue>> {
    if depth > MAX_DEPTH {
        return Ok(None);
    }
    if v.is_none() {
        return Ok(Some(ObjectValue::Null));
    }
    if let Ok(b) = v.cast::<PyBool>() {
        return Ok(Some(ObjectValue::Bool(b.is_true())));
    }
    if let Ok(i) = v.cast::<PyInt>() {
        if let Ok(x) = i.extract::<i64>() {
            return Ok(Some(ObjectValue::Int(x)));
        }
        return Ok(i.extract::<u64>().ok().map(ObjectValue::UInt));
    }
    if let Ok(f) = v.cast::<PyFloat>() {
        return Ok(Some(ObjectValue::Float(f.value())));
    }
    if let Ok(s) = v.cast::<PyString>() {
        return Ok(s.to_str().ok().map(|s| ObjectValue::Str(s.to_owned())));
    }
    if let Ok(b) = v.cast::<PyBytes>() {
        return Ok((!json).then(|| ObjectValue::Bytes(b.as_bytes().to_vec())));
    }
    if let Ok(l) = v.cast::<PyList>() {
        let mut items = Vec::with_capacity(l.len());
        for item in l.iter() {
            match to_value(&item, depth + 1, json)? {
                Some(x) => items.push(x),
                None => return Ok(None),
            }
        }
        return Ok(Some(ObjectValue::List(items)));
    }
    if let Ok(t) = v.cast::<PyTuple>() {
        let mut items = Vec::with_capacity(t.len());
        for item in t.iter() {
            match to_value(&item, depth + 1, json)? {
                Some(x) => items.push(x),
                None => return Ok(None),
            }
        }
        return Ok(Some(ObjectValue::List(items)));
    }
    if let Ok(d) = v.cast::<PyDict>() {
        let mut entries = Vec::with_capacity(d.len());
        for (k, val) in d.iter() {
            if json && !k.is_instance_of::<PyString>() {
                return Ok(None);
            }
            let (Some(k), Some(val)) = (
                to_value(&k, depth + 1, json)?,
                to_value(&val, depth + 1, json)?,
            ) else {
                return Ok(None);
            };
            entries.push((k, val));
        }
        return Ok(Some(ObjectValue::Map(entries)));
    }
    Ok(None)
}

/// Converts an [`ObjectValue`] to Python (lists, dicts, str, bytes, int, float, bool, None).
/// With `strict_map_key`, map keys must be str or bytes (msgpack-python's default rule).
fn from_value(py: Python<'_>, v: ObjectValue, strict_map_key: bool) -> PyResult<Py<PyAny>> {
    Ok(match v {
        ObjectValue::Null => py.None(),
        ObjectValue::Bool(b) => PyBool::new(py, b).to_owned().into_any().unbind(),
        ObjectValue::Int(i) => i.into_pyobject(py)?.into_any().unbind(),
        ObjectValue::UInt(u) => u.into_pyobject(py)?.into_any().unbind(),
        ObjectValue::Float(f) => PyFloat::new(py, f).into_any().unbind(),
        ObjectValue::Str(s) => PyString::new(py, &s).into_any().unbind(),
        ObjectValue::Bytes(b) => PyBytes::new(py, &b).into_any().unbind(),
        ObjectValue::List(items) => {
            let out = items
                .into_iter()
                .map(|x| from_value(py, x, strict_map_key))
                .collect::<PyResult<Vec<_>>>()?;
            PyList::new(py, out)?.into_any().unbind()
        }
        ObjectValue::Map(entries) => {
            let d = PyDict::new(py);
            for (k, val) in entries {
                if strict_map_key && !matches!(k, ObjectValue::Str(_) | ObjectValue::Bytes(_)) {
                    return Err(PyValueError::new_err(format!(
                        "{k:?} is not allowed for map key when strict_map_key=True"
                    )));
                }
                d.set_item(
                    from_value(py, k, strict_map_key)?,
                    from_value(py, val, strict_map_key)?,
                )?;
            }
            d.into_any().unbind()
        }
    })
}

fn parse_config<T>(
    config: &str,
    build: fn(&serde_json::Map<String, serde_json::Value>) -> ndpack::Result<T>,
) -> PyResult<T> {
    let v: serde_json::Value = serde_json::from_str(config)
        .map_err(|e| PyValueError::new_err(format!("bad codec config: {e}")))?;
    let map = v
        .as_object()
        .ok_or_else(|| PyValueError::new_err("codec config must be a JSON object"))?;
    build(map).map_err(to_py)
}

fn shape_tuple<'py>(py: Python<'py>, shape: &[usize]) -> PyResult<Bound<'py, PyTuple>> {
    PyTuple::new(py, shape)
}

/// The bytes (a writable 1-d `uint8` NumPy array), dtype string and shape of a decoded numeric
/// array, or `None` when the stored dtype is not bool, integer or float.
type NumericOut<'py> = Option<(Bound<'py, PyAny>, String, Bound<'py, PyTuple>)>;

/// Items, dtype string and shape of a decoded array, as Python values.
type Decoded = (Py<PyAny>, String, Py<PyTuple>);

/// Either decoded Python items (`list`) or the bytes of a numeric array.
fn decoded_to_py(py: Python<'_>, a: ObjectArray, strict_map_key: bool) -> PyResult<Decoded> {
    let shape = shape_tuple(py, &a.shape)?.unbind();
    let items = from_value(py, ObjectValue::List(a.items), strict_map_key)?;
    Ok((items, a.dtype, shape))
}

fn numeric_input<'a>(data: &'a [u8], dtype: &str, shape: Vec<usize>) -> PyResult<ArrayRef<'a>> {
    let dtype: DataType = dtype.parse().map_err(to_py)?;
    ArrayRef::new(data, dtype, shape, ndpack::Order::C).map_err(to_py)
}

/// The array entry points JSON and MsgPack share, so that their Python classes share one body.
trait ArrayCodec: Sync {
    fn encode_array(&self, array: &ObjectArray) -> ndpack::Result<Vec<u8>>;
    fn decode_array(&self, data: &[u8]) -> ndpack::Result<ObjectArray>;
}

impl ArrayCodec for Json2 {
    fn encode_array(&self, array: &ObjectArray) -> ndpack::Result<Vec<u8>> {
        Json2::encode_array(self, array)
    }
    fn decode_array(&self, data: &[u8]) -> ndpack::Result<ObjectArray> {
        Json2::decode_array(self, data)
    }
}

impl ArrayCodec for MsgPack2 {
    fn encode_array(&self, array: &ObjectArray) -> ndpack::Result<Vec<u8>> {
        MsgPack2::encode_array(self, array)
    }
    fn decode_array(&self, data: &[u8]) -> ndpack::Result<ObjectArray> {
        MsgPack2::decode_array(self, data)
    }
}

/// Encodes a numeric array given as bytes, dtype and shape (0-d arrays keep one item when
/// `scalar_as_one_item`, as numcodecs' JSON does).
fn encode_numeric_with<'py>(
    codec: &impl ArrayCodec,
    py: Python<'py>,
    data: &Bound<'py, PyAny>,
    dtype: &str,
    shape: Vec<usize>,
    scalar_as_one_item: bool,
) -> PyResult<Bound<'py, PyBytes>> {
    let data = input(data)?;
    let bytes = data.as_slice();
    let input = numeric_input(bytes, dtype, shape)?;
    let out = py
        .detach(|| {
            let mut a = ObjectArray::from_numeric(&input)?;
            if scalar_as_one_item && a.shape.is_empty() {
                a.items.truncate(1);
            }
            codec.encode_array(&a)
        })
        .map_err(to_py)?;
    bytes_from_slice(py, &out)
}

/// Decodes to `(items, dtype, shape)`; `None` when the data needs the Python library.
fn decode_with(
    codec: &impl ArrayCodec,
    py: Python<'_>,
    data: &Bound<'_, PyAny>,
    strict_map_key: bool,
) -> PyResult<Option<Decoded>> {
    let data = input(data)?;
    let bytes = data.as_slice();
    match py.detach(|| codec.decode_array(bytes)) {
        Ok(a) => decoded_to_py(py, a, strict_map_key).map(Some),
        Err(e) if e.kind() == ndpack::ErrorKind::Unsupported => Ok(None),
        Err(e) => Err(to_py(e)),
    }
}

/// Decodes a bool/int/float array straight to its bytes: `(bytes, dtype, shape)`, or `None`
/// when the stored dtype is another kind.
fn decode_numeric_with<'py>(
    codec: &impl ArrayCodec,
    py: Python<'py>,
    data: &Bound<'py, PyAny>,
) -> PyResult<NumericOut<'py>> {
    let data = input(data)?;
    let bytes = data.as_slice();
    let r = py.detach(|| {
        let a = codec.decode_array(bytes)?;
        let dtype = a.dtype.clone();
        a.to_numeric().map(|arr| (arr, dtype))
    });
    match r {
        Ok((arr, dtype)) => {
            let shape = shape_tuple(py, arr.shape())?;
            let buffer = arr.into_parts().0;
            let len = buffer.len();
            let bytes = RustBuffer::base_mut(py, buffer)?.array(
                py,
                &numpy::dtype::<u8>(py),
                &[len],
                ndpack::Order::C,
                false,
            )?;
            Ok(Some((bytes, dtype, shape)))
        }
        Err(_) => Ok(None),
    }
}

/// The Rust side of `ndpack._object_codecs.JSON` (text encoding UTF-8; the Python class
/// transcodes other encodings).
#[pyclass(module = "ndpack._ndpack", frozen)]
struct JsonCore {
    codec: Json2,
}

#[pymethods]
impl JsonCore {
    /// Builds the codec from its JSON config text.
    #[new]
    fn new(config: &str) -> PyResult<Self> {
        Ok(JsonCore {
            codec: parse_config(config, Json2::from_config)?,
        })
    }

    /// Encodes the list `items` (already holding the dtype string and shape at its end) to UTF-8
    /// JSON; `None` if a value needs Python's own `json` module.
    fn encode<'py>(
        &self,
        py: Python<'py>,
        items: &Bound<'py, PyList>,
    ) -> PyResult<Option<Bound<'py, PyBytes>>> {
        let Some(value) = to_value(items.as_any(), 0, true)? else {
            return Ok(None);
        };
        match py.detach(|| self.codec.dumps(&value)) {
            Ok(text) => Ok(Some(bytes_from_slice(py, text.as_bytes())?)),
            Err(_) => Ok(None),
        }
    }

    /// Encodes a C-contiguous bool/int/float array given as bytes, dtype string and shape.
    fn encode_numeric<'py>(
        &self,
        py: Python<'py>,
        data: &Bound<'py, PyAny>,
        dtype: &str,
        shape: Vec<usize>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        encode_numeric_with(&self.codec, py, data, dtype, shape, true)
    }

    /// Decodes UTF-8 JSON to `(items, dtype, shape)`; `None` if it needs Python's own `json`
    /// module (integers beyond 64 bits, lone surrogates).
    fn decode(&self, py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<Option<Decoded>> {
        decode_with(&self.codec, py, data, false)
    }

    /// Decodes UTF-8 JSON of a bool/int/float array straight to its bytes: `(bytes, dtype,
    /// shape)`, or `None` when the stored dtype is another kind.
    fn decode_numeric<'py>(
        &self,
        py: Python<'py>,
        data: &Bound<'py, PyAny>,
    ) -> PyResult<NumericOut<'py>> {
        decode_numeric_with(&self.codec, py, data)
    }
}

/// The Rust side of `ndpack._object_codecs.MsgPack`.
#[pyclass(module = "ndpack._ndpack", frozen)]
struct MsgPackCore {
    codec: MsgPack2,
}

#[pymethods]
impl MsgPackCore {
    /// Builds the codec from its JSON config text.
    #[new]
    fn new(config: &str) -> PyResult<Self> {
        Ok(MsgPackCore {
            codec: parse_config(config, MsgPack2::from_config)?,
        })
    }

    /// Packs the list `items` (already holding the dtype string and shape at its end); `None`
    /// if a value needs the `msgpack` module.
    fn encode<'py>(
        &self,
        py: Python<'py>,
        items: &Bound<'py, PyList>,
    ) -> PyResult<Option<Bound<'py, PyBytes>>> {
        let Some(value) = to_value(items.as_any(), 0, false)? else {
            return Ok(None);
        };
        match py.detach(|| self.codec.pack_value(&value)) {
            Ok(out) => Ok(Some(bytes_from_slice(py, &out)?)),
            Err(_) => Ok(None),
        }
    }

    /// Encodes a C-contiguous bool/int/float array (at least 1-d) given as bytes, dtype string
    /// and shape.
    fn encode_numeric<'py>(
        &self,
        py: Python<'py>,
        data: &Bound<'py, PyAny>,
        dtype: &str,
        shape: Vec<usize>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        encode_numeric_with(&self.codec, py, data, dtype, shape, false)
    }

    /// Unpacks to `(items, dtype, shape)`; `None` if it needs the `msgpack` module (extension
    /// types).
    fn decode(&self, py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<Option<Decoded>> {
        decode_with(&self.codec, py, data, true)
    }

    /// Unpacks a bool/int/float array straight to its bytes: `(bytes, dtype, shape)`, or `None`
    /// when the stored dtype is another kind.
    fn decode_numeric<'py>(
        &self,
        py: Python<'py>,
        data: &Bound<'py, PyAny>,
    ) -> PyResult<NumericOut<'py>> {
        decode_numeric_with(&self.codec, py, data)
    }
}

/// Adds this area's classes and functions to the extension module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(vlen_utf8_encode, m)?)?;
    m.add_function(wrap_pyfunction!(vlen_bytes_encode, m)?)?;
    m.add_function(wrap_pyfunction!(vlen_array_encode, m)?)?;
    m.add_function(wrap_pyfunction!(vlen_offsets, m)?)?;
    m.add_function(wrap_pyfunction!(vlen_utf8_decode, m)?)?;
    m.add_function(wrap_pyfunction!(vlen_bytes_decode, m)?)?;
    m.add_class::<JsonCore>()?;
    m.add_class::<MsgPackCore>()?;
    Ok(())
}
