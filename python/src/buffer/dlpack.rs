//! The DLPack export of `Buffer` and `NDBuffer`: `DLManagedTensor` (0.x) and
//! `DLManagedTensorVersioned` (1.x) capsules of CPU memory that a Rust [`Buffer`] keeps alive.

use std::ffi::{c_void, CStr};

use ndpack::{Buffer, DataType, TypeKind};
use pyo3::exceptions::PyBufferError;
use pyo3::ffi;
use pyo3::prelude::*;

/// `kDLCPU`.
pub const KDL_CPU: i32 = 1;
const FLAG_READ_ONLY: u64 = 1;

#[repr(C)]
#[derive(Clone, Copy)]
struct DLDevice {
    device_type: i32,
    device_id: i32,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct DLDataType {
    code: u8,
    bits: u8,
    lanes: u16,
}

#[repr(C)]
struct DLTensor {
    data: *mut c_void,
    device: DLDevice,
    ndim: i32,
    dtype: DLDataType,
    shape: *mut i64,
    strides: *mut i64,
    byte_offset: u64,
}

#[repr(C)]
struct DLManagedTensor {
    dl_tensor: DLTensor,
    manager_ctx: *mut c_void,
    deleter: Option<unsafe extern "C" fn(*mut DLManagedTensor)>,
}

#[repr(C)]
struct DLPackVersion {
    major: u32,
    minor: u32,
}

#[repr(C)]
struct DLManagedTensorVersioned {
    version: DLPackVersion,
    manager_ctx: *mut c_void,
    deleter: Option<unsafe extern "C" fn(*mut DLManagedTensorVersioned)>,
    flags: u64,
    dl_tensor: DLTensor,
}

/// What a tensor keeps alive: the bytes and the shape/strides arrays it points into.
struct Context {
    _owner: Buffer,
    shape: Vec<i64>,
    strides: Vec<i64>,
}

fn dl_dtype(dt: &DataType) -> PyResult<DLDataType> {
    if dt.is_swapped() {
        return Err(PyBufferError::new_err(format!(
            "DLPack holds native byte order only, not {dt}"
        )));
    }
    let code = match dt.kind() {
        TypeKind::Int => 0,
        TypeKind::UInt => 1,
        TypeKind::Float => 2,
        TypeKind::Complex => 5,
        TypeKind::Bool => 6,
        _ => {
            return Err(PyBufferError::new_err(format!(
                "DLPack has no data type for {dt}"
            )))
        }
    };
    Ok(DLDataType {
        code,
        bits: (dt.itemsize() * 8) as u8,
        lanes: 1,
    })
}

/// Frees a tensor `export` leaked, and its context (`ctx` reads where the tensor keeps it).
///
/// # Safety
/// `t` is null or a tensor leaked from a box by `export`, freed once.
unsafe fn free_leaked<T>(t: *mut T, ctx: fn(&T) -> *mut c_void) {
    if t.is_null() {
        return;
    }
    // SAFETY: `t` and its context were leaked from boxes by `export` (the caller's promise).
    unsafe {
        let tensor = Box::from_raw(t);
        drop(Box::from_raw(ctx(&tensor) as *mut Context));
        drop(tensor);
    }
}

unsafe extern "C" fn delete_legacy(t: *mut DLManagedTensor) {
    // SAFETY: DLPack calls the deleter once, on a tensor `export` leaked.
    unsafe { free_leaked(t, |t| t.manager_ctx) }
}

unsafe extern "C" fn delete_versioned(t: *mut DLManagedTensorVersioned) {
    // SAFETY: as in `delete_legacy`.
    unsafe { free_leaked(t, |t| t.manager_ctx) }
}

const NAME_LEGACY: &CStr = c"dltensor";
const NAME_VERSIONED: &CStr = c"dltensor_versioned";

unsafe extern "C" fn capsule_legacy(capsule: *mut ffi::PyObject) {
    // SAFETY: called by CPython with a live capsule; a consumer that took the tensor renamed
    // the capsule, so a still-valid name means we own the tensor and must delete it.
    unsafe {
        if ffi::PyCapsule_IsValid(capsule, NAME_LEGACY.as_ptr()) == 1 {
            let t = ffi::PyCapsule_GetPointer(capsule, NAME_LEGACY.as_ptr());
            delete_legacy(t as *mut DLManagedTensor);
        }
    }
}

unsafe extern "C" fn capsule_versioned(capsule: *mut ffi::PyObject) {
    // SAFETY: as in `capsule_legacy`.
    unsafe {
        if ffi::PyCapsule_IsValid(capsule, NAME_VERSIONED.as_ptr()) == 1 {
            let t = ffi::PyCapsule_GetPointer(capsule, NAME_VERSIONED.as_ptr());
            delete_versioned(t as *mut DLManagedTensorVersioned);
        }
    }
}

/// A DLPack capsule for `buffer` viewed as `shape` items of `dtype` with byte `strides`
/// (C-contiguous when `None`).
#[allow(clippy::too_many_arguments)]
pub fn export<'py>(
    py: Python<'py>,
    buffer: Buffer,
    dtype: &DataType,
    shape: &[usize],
    strides: Option<&[usize]>,
    max_version: Option<(u32, u32)>,
    dl_device: Option<(i32, i32)>,
    copy: Option<bool>,
) -> PyResult<Bound<'py, PyAny>> {
    if let Some(dev) = dl_device {
        if dev.0 != KDL_CPU {
            return Err(PyBufferError::new_err(format!(
                "ndpack buffers live on the CPU, not on DLPack device {dev:?}"
            )));
        }
    }
    if copy == Some(true) {
        return Err(PyBufferError::new_err(
            "ndpack buffers export without copying (copy=True is not supported)",
        ));
    }
    let dl = dl_dtype(dtype)?;
    let itemsize = dtype.itemsize().max(1);
    let mut ctx = Box::new(Context {
        shape: shape.iter().map(|&d| d as i64).collect(),
        strides: match strides {
            Some(s) => s.iter().map(|&s| (s / itemsize) as i64).collect(),
            None => {
                let mut st = vec![1i64; shape.len()];
                for i in (0..shape.len().saturating_sub(1)).rev() {
                    st[i] = st[i + 1] * shape[i + 1] as i64;
                }
                st
            }
        },
        _owner: buffer.clone(),
    });
    let tensor = DLTensor {
        data: buffer.as_ptr() as *mut c_void,
        device: DLDevice {
            device_type: KDL_CPU,
            device_id: 0,
        },
        ndim: shape.len() as i32,
        dtype: dl,
        shape: ctx.shape.as_mut_ptr(),
        strides: ctx.strides.as_mut_ptr(),
        byte_offset: 0,
    };
    let ctx = Box::into_raw(ctx) as *mut c_void;
    let versioned = matches!(max_version, Some((major, _)) if major >= 1);
    let capsule = if versioned {
        let t = Box::into_raw(Box::new(DLManagedTensorVersioned {
            version: DLPackVersion { major: 1, minor: 0 },
            manager_ctx: ctx,
            deleter: Some(delete_versioned),
            flags: FLAG_READ_ONLY,
            dl_tensor: tensor,
        }));
        // SAFETY: `t` is a valid tensor; the capsule's destructor frees it unless a consumer
        // took it (and renamed the capsule).
        let cap = unsafe {
            ffi::PyCapsule_New(
                t as *mut c_void,
                NAME_VERSIONED.as_ptr(),
                Some(capsule_versioned),
            )
        };
        if cap.is_null() {
            // SAFETY: the capsule was not made, so we still own `t`.
            unsafe { delete_versioned(t) };
        }
        cap
    } else {
        let t = Box::into_raw(Box::new(DLManagedTensor {
            dl_tensor: tensor,
            manager_ctx: ctx,
            deleter: Some(delete_legacy),
        }));
        // SAFETY: as above.
        let cap = unsafe {
            ffi::PyCapsule_New(t as *mut c_void, NAME_LEGACY.as_ptr(), Some(capsule_legacy))
        };
        if cap.is_null() {
            // SAFETY: the capsule was not made, so we still own `t`.
            unsafe { delete_legacy(t) };
        }
        cap
    };
    // SAFETY: `capsule` is a new reference or null with an exception set.
    unsafe { Bound::from_owned_ptr_or_err(py, capsule) }
}
