//! Makes the trainer binary find libtorch without LD_LIBRARY_PATH, and makes
//! CUDA really usable in a `cuda` build.
//!
//! - RUNPATH: cargo ignores `[env] LD_LIBRARY_PATH` for `cargo run/test`, so
//!   the libtorch directory torch-sys linked against is recorded in the
//!   binary itself.
//! - CUDA: rustc links with `--as-needed`; nothing in our code references a
//!   libtorch_cuda symbol directly, so the linker drops the library and
//!   `tch::Cuda::is_available()` silently says false (tch-rs issues 907/980).
//!   The `cuda` feature links it explicitly with `--no-as-needed`.

fn main() {
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    match std::env::var("DEP_TCH_LIBTORCH_LIB") {
        Ok(lib) => {
            println!("cargo:rustc-link-arg=-Wl,-rpath,{lib}");
            if std::env::var_os("CARGO_FEATURE_CUDA").is_some() {
                println!("cargo:rustc-link-arg=-Wl,--no-as-needed,-ltorch_cuda,--as-needed");
            }
        }
        Err(_) => println!(
            "cargo:warning=torch-sys did not report its libtorch directory; \
             the binary will need LD_LIBRARY_PATH to find libtorch"
        ),
    }
}
