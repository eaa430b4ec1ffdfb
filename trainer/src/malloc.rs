//! Keeps the memory libtorch frees inside the process.
//!
//! glibc's malloc serves blocks above its mmap threshold (at most 32 MiB)
//! with `mmap` and hands them back to the kernel on `free`. A training step
//! allocates and frees activation tensors of tens to hundreds of MB many
//! times, so every step page-faults and zeroes gigabytes afresh: measured on
//! the 2-core build machine, half of the trainer's CPU time was spent in the
//! kernel. With mmap off and heap trimming off, freed blocks are reused:
//! `cargo run --release -p cocola-trainer --example step_bench` went from
//! 3.8-5.2 to 2.5 s per step (kernel time 50 s -> 11 s over the bench),
//! about what tcmalloc preloaded gives (2.4 s). The price is that the
//! process keeps its peak memory (~7 GB at K = 32) until it exits.

/// Turns glibc's mmap for large blocks and heap trimming off for this
/// process; true when the C library took both settings (false elsewhere
/// than glibc). Call first thing in `main`, before libtorch allocates;
/// it applies to every allocation after the call.
pub fn keep_freed_memory() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters.
    unsafe {
        // -1: never trim (mallopt(3)).
        libc::mallopt(libc::M_MMAP_MAX, 0) == 1 && libc::mallopt(libc::M_TRIM_THRESHOLD, -1) == 1
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    false
}

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
mod tests {
    #[test]
    fn glibc_takes_the_settings() {
        assert!(super::keep_freed_memory());
    }
}
