//! Where this plugin's own binary lives, so that ONNX Runtime shipped next to
//! it in the bundle is found wherever the bundle was copied, whatever the
//! host's executable or working directory.

use std::ffi::CStr;
use std::path::PathBuf;

/// The directory of the shared object (or executable, in tests) that
/// contains this function's code.
pub fn own_binary_dir() -> Option<PathBuf> {
    let mut info = libc::Dl_info {
        dli_fname: std::ptr::null(),
        dli_fbase: std::ptr::null_mut(),
        dli_sname: std::ptr::null(),
        dli_saddr: std::ptr::null_mut(),
    };
    let address = own_binary_dir as *const libc::c_void;
    // SAFETY: dladdr only reads the loader's tables and fills `info`; the
    // returned file name is owned by the loader and copied out immediately.
    let found = unsafe { libc::dladdr(address, &mut info) };
    if found == 0 || info.dli_fname.is_null() {
        return None;
    }
    let name = unsafe { CStr::from_ptr(info.dli_fname) }.to_string_lossy().into_owned();
    let path = std::fs::canonicalize(&name).unwrap_or_else(|_| PathBuf::from(&name));
    path.parent().map(|p| p.to_path_buf())
}

#[cfg(test)]
mod tests {
    #[test]
    fn finds_the_test_binary_directory() {
        let dir = super::own_binary_dir().expect("dladdr resolves our own code");
        let exe = std::env::current_exe().unwrap().canonicalize().unwrap();
        assert_eq!(dir, exe.parent().unwrap());
    }
}
