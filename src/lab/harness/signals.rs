//! The signals the harness sends its children (SIGKILL, SIGTERM, SIGSTOP/SIGCONT) and the parent-death
//! signal they are born with: thin wrappers over kill(2) and prctl(2), which std does not
//! expose (the C library std links already provides both).

use std::io;
use std::os::raw::c_int;

/// A signal the harness sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// SIGKILL: `kill -9`, no chance to clean up.
    Kill,
    /// SIGTERM: the graceful stop.
    Terminate,
    /// SIGSTOP: the process freezes, its connections stay open and unanswered.
    Freeze,
    /// SIGCONT: a frozen process carries on.
    Thaw,
}

const SIGKILL: c_int = 9;
const SIGTERM: c_int = 15;
const SIGCONT: c_int = 18;
const SIGSTOP: c_int = 19;

impl Signal {
    fn number(self) -> c_int {
        match self {
            Signal::Kill => SIGKILL,
            Signal::Terminate => SIGTERM,
            Signal::Freeze => SIGSTOP,
            Signal::Thaw => SIGCONT,
        }
    }
}

extern "C" {
    fn kill(pid: c_int, signal: c_int) -> c_int;
    #[cfg(target_os = "linux")]
    fn prctl(option: c_int, ...) -> c_int;
}

/// Sends `signal` to process `pid`.
pub(crate) fn send(pid: u32, signal: Signal) -> io::Result<()> {
    let pid = c_int::try_from(pid)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "pid out of range"))?;
    // SAFETY: kill(2) takes two integers and touches no memory of this process.
    if unsafe { kill(pid, signal.number()) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Run in a child between fork and exec: the kernel sends it SIGKILL when the thread that
/// spawned it ends, so no child outlives the harness, whatever ends the parent.
pub(crate) fn die_with_parent() -> io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use std::os::raw::c_ulong;
        const PR_SET_PDEATHSIG: c_int = 1;
        // SAFETY: prctl(PR_SET_PDEATHSIG, signal) is async-signal-safe and reads no memory.
        if unsafe { prctl(PR_SET_PDEATHSIG, SIGKILL as c_ulong) } != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}
