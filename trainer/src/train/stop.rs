//! Stopping a run on request (Ctrl-C, `kill`), keeping its progress.
//!
//! Periodic checkpoints alone lose up to `--checkpoint-every` steps to a stop,
//! which on a CPU can be hours. After [`install`], a SIGINT or SIGTERM
//! before the training loop has [`arm`]ed the stop ends the process at once
//! (there is nothing to keep yet, and loading data can take minutes); once
//! armed, the first one only raises a flag: the loop finishes the step it is
//! in, writes a checkpoint of it and returns, so `--resume` continues exactly
//! there. A second signal ends the process at once (the handler is reset
//! after the first), for a run that is stuck.

use std::sync::atomic::{AtomicBool, Ordering};

static REQUESTED: AtomicBool = AtomicBool::new(false);
static ARMED: AtomicBool = AtomicBool::new(false);

/// Process exit code of a run that stopped on request (128 + SIGINT, what
/// shells report for a Ctrl-C).
pub const EXIT_CODE: u8 = 130;

extern "C" fn on_signal(_: libc::c_int) {
    // Only atomics and _exit: both are async-signal-safe.
    if ARMED.load(Ordering::SeqCst) {
        REQUESTED.store(true, Ordering::SeqCst);
    } else {
        // SAFETY: _exit ends the process without running anything else.
        unsafe { libc::_exit(EXIT_CODE as libc::c_int) };
    }
}

/// From now on a signal asks the training loop to stop after its step
/// instead of ending the process (called when the loop starts).
pub fn arm() {
    ARMED.store(true, Ordering::SeqCst);
}

/// Routes the next SIGINT and SIGTERM of this process to [`requested`].
/// Returns an error if the handlers cannot be installed.
pub fn install() -> std::io::Result<()> {
    for signal in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: a zeroed sigaction is valid (empty mask, no flags); the
        // handler only touches atomics and calls _exit (async-signal-safe).
        let installed = unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_signal as *const () as libc::sighandler_t;
            // Back to the default action after one delivery: a second
            // Ctrl-C terminates. SA_RESTART keeps blocking reads going.
            action.sa_flags = libc::SA_RESETHAND | libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(signal, &action, std::ptr::null_mut())
        };
        if installed != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Whether a stop was requested since the process started.
pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}

// Tested through the real binary (tests/trainer/crash_resume.rs): a handler
// installed in a test binary would stop every later run in it.
