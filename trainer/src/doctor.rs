//! `cocola-trainer doctor`: the libtorch this binary runs with and the device
//! training would use, so a CUDA set-up problem shows before a long run.

use std::fmt::Write;

/// A human-readable report of libtorch, CUDA and the training device.
pub fn report() -> String {
    let mut out = String::new();
    let _ = writeln!(out, "libtorch        {}", libtorch_version());
    let cuda = tch::Cuda::is_available();
    let _ = writeln!(out, "CUDA available  {cuda}");
    let _ = writeln!(out, "cuDNN available {}", tch::Cuda::cudnn_is_available());
    if cuda {
        let count = tch::Cuda::device_count();
        let _ = writeln!(out, "CUDA devices    {count}");
        for d in 0..count {
            let _ = writeln!(out, "device {d}        {}", cuda_device_description(d));
        }
    } else {
        let _ = writeln!(
            out,
            "training device CPU ({} threads); for CUDA see the README, section Training",
            tch::get_num_threads()
        );
    }
    out
}

/// The libtorch this binary was built against: tch pins the version (its
/// build refuses any other), the path says which installation.
fn libtorch_version() -> String {
    let pinned = "2.11.0 (tch 0.24.0)";
    match option_env!("LIBTORCH") {
        Some(dir) => format!("{pinned}, from {dir}"),
        None => pinned.to_string(),
    }
}

/// Name and memory of CUDA device `d`.
fn cuda_device_description(d: i64) -> String {
    let device = tch::Device::Cuda(d as usize);
    // Allocating a tensor initialises the device (and loads the driver);
    // failing here is exactly what doctor must show, so it is reported.
    match tch::Tensor::f_zeros([1], (tch::Kind::Float, device)) {
        Ok(_) => match driver::describe(d as i32) {
            Some(text) => text,
            None => "usable (name and memory not reported by the driver)".into(),
        },
        Err(e) => format!("unusable: {e}"),
    }
}

/// tch exposes no device properties, so they come from the CUDA driver API
/// (`libcuda.so.1`, already loaded by libtorch once a device is in use),
/// looked up at run time: a CPU-only installation has no driver to link to.
mod driver {
    use std::ffi::{c_char, c_int, c_void, CStr};

    type GetDevice = unsafe extern "C" fn(*mut c_int, c_int) -> c_int;
    type GetName = unsafe extern "C" fn(*mut c_char, c_int, c_int) -> c_int;
    type TotalMem = unsafe extern "C" fn(*mut usize, c_int) -> c_int;
    type MemInfo = unsafe extern "C" fn(*mut usize, *mut usize) -> c_int;

    fn symbol(lib: *mut c_void, name: &CStr) -> Option<*mut c_void> {
        // SAFETY: `lib` is a live handle from dlopen and `name` is NUL-terminated.
        let f = unsafe { libc::dlsym(lib, name.as_ptr()) };
        (!f.is_null()).then_some(f)
    }

    pub fn describe(ordinal: i32) -> Option<String> {
        // SAFETY: plain dlopen of the driver library; the handle is never closed,
        // libtorch keeps the library loaded for the life of the process anyway.
        let lib = unsafe { libc::dlopen(c"libcuda.so.1".as_ptr(), libc::RTLD_NOW) };
        if lib.is_null() {
            return None;
        }
        // SAFETY: the signatures are those of the CUDA driver API (cuda.h);
        // every out-pointer is valid for the duration of its call.
        unsafe {
            let get: GetDevice = std::mem::transmute(symbol(lib, c"cuDeviceGet")?);
            let name_of: GetName = std::mem::transmute(symbol(lib, c"cuDeviceGetName")?);
            let total_of: TotalMem = std::mem::transmute(symbol(lib, c"cuDeviceTotalMem_v2")?);
            let mut dev: c_int = 0;
            if get(&mut dev, ordinal) != 0 {
                return None;
            }
            let mut name = [0 as c_char; 256];
            if name_of(name.as_mut_ptr(), name.len() as c_int, dev) != 0 {
                return None;
            }
            let name = CStr::from_ptr(name.as_ptr()).to_string_lossy().into_owned();
            let mut total = 0usize;
            let gib = |b: usize| b as f64 / (1u64 << 30) as f64;
            let mut text = name;
            if total_of(&mut total, dev) == 0 {
                text += &format!(", {:.1} GiB", gib(total));
            }
            // Free memory needs the context libtorch made current on this thread.
            if let Some(f) = symbol(lib, c"cuMemGetInfo_v2") {
                let info: MemInfo = std::mem::transmute(f);
                let (mut free, mut tot) = (0usize, 0usize);
                if info(&mut free, &mut tot) == 0 {
                    text += &format!(" ({:.1} GiB free)", gib(free));
                }
            }
            Some(text)
        }
    }
}
