//! A child process owned by the harness. It is spawned by a thread that lives exactly as
//! long as the child: the parent-death signal fires when the spawning *thread* ends, so a
//! child spawned from a test's own thread would die when that thread does. The same thread
//! reaps the child (no zombies), signals are sent only while the child is not yet reaped
//! (so a recycled pid is never hit), and a dropped [`ChildProcess`] is killed and reaped.

use super::error::HarnessError;
use super::signals::{self, Signal};
use std::fs::OpenOptions;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{mpsc, Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// How often the reaper looks whether the child has exited.
const REAP_POLL: Duration = Duration::from_millis(10);
/// How long a dropped child may take to die of SIGKILL.
const DROP_GRACE: Duration = Duration::from_secs(5);

/// A running (or exited, not yet dropped) child process.
pub struct ChildProcess {
    handle: Handle,
}

/// What the reaper thread and the owner share.
#[derive(Clone)]
struct Handle {
    name: String,
    pid: u32,
    state: Arc<Mutex<State>>,
}

struct State {
    child: Child,
    exit: Option<ExitStatus>,
}

impl ChildProcess {
    /// Spawns `command` as `name` (used in errors and thread names).
    pub fn spawn(name: &str, mut command: Command) -> Result<ChildProcess, HarnessError> {
        // SAFETY: the hook only calls prctl(2), which is async-signal-safe.
        unsafe {
            command.pre_exec(signals::die_with_parent);
        }
        let spawn_error = |source| HarnessError::Spawn {
            what: name.to_string(),
            source,
        };
        let (reply, spawned) = mpsc::channel();
        std::thread::Builder::new()
            .name(format!("harness-{name}"))
            .spawn(move || match command.spawn() {
                Ok(child) => {
                    let state = Arc::new(Mutex::new(State { child, exit: None }));
                    let _ = reply.send(Ok(Arc::clone(&state)));
                    reap(&state);
                }
                Err(error) => {
                    let _ = reply.send(Err(error));
                }
            })
            .map_err(spawn_error)?;
        let state = spawned
            .recv()
            .map_err(|_| spawn_error(std::io::Error::other("the spawning thread died")))?
            .map_err(spawn_error)?;
        let pid = lock(&state).child.id();
        Ok(ChildProcess {
            handle: Handle {
                name: name.to_string(),
                pid,
                state,
            },
        })
    }

    pub fn pid(&self) -> u32 {
        self.handle.pid
    }

    /// The exit status, once the child has exited.
    pub fn exit_status(&self) -> Option<ExitStatus> {
        self.handle.exit_status()
    }

    pub fn is_running(&self) -> bool {
        self.exit_status().is_none()
    }

    /// Sends `signal`; `false` when the child had already exited.
    pub fn signal(&self, signal: Signal) -> Result<bool, HarnessError> {
        self.handle.signal(signal)
    }

    /// Waits (blocking the calling thread) until the child has exited.
    pub fn wait_blocking(&self, within: Duration) -> Result<ExitStatus, HarnessError> {
        self.handle.wait_blocking(within)
    }

    /// Waits until the child has exited, off the async workers.
    pub async fn wait(&self, within: Duration) -> Result<ExitStatus, HarnessError> {
        let handle = self.handle.clone();
        tokio::task::spawn_blocking(move || handle.wait_blocking(within))
            .await
            .unwrap_or_else(|_| {
                Err(HarnessError::NotRunning {
                    what: self.handle.name.clone(),
                })
            })
    }

    /// SIGKILL, then waits until the child is reaped.
    pub fn kill_and_reap(&self, within: Duration) -> Result<ExitStatus, HarnessError> {
        self.signal(Signal::Kill)?;
        self.wait_blocking(within)
    }

    /// Peak resident set size so far (`VmHWM` of `/proc/<pid>/status`), in KiB; `None`
    /// once the child has exited or where `/proc` does not say.
    pub fn peak_rss_kib(&self) -> Option<u64> {
        if !self.is_running() {
            return None;
        }
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).ok()?;
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
    }
}

impl Drop for ChildProcess {
    fn drop(&mut self) {
        if self.is_running() {
            let _ = self.kill_and_reap(DROP_GRACE);
        }
    }
}

impl Handle {
    fn exit_status(&self) -> Option<ExitStatus> {
        lock(&self.state).exit
    }

    fn signal(&self, signal: Signal) -> Result<bool, HarnessError> {
        // Holding the lock keeps the reaper from reaping meanwhile: the pid is still ours.
        let state = lock(&self.state);
        if state.exit.is_some() {
            return Ok(false);
        }
        signals::send(self.pid, signal).map_err(|source| HarnessError::Signal {
            what: self.name.clone(),
            source,
        })?;
        Ok(true)
    }

    fn wait_blocking(&self, within: Duration) -> Result<ExitStatus, HarnessError> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.exit_status() {
                return Ok(status);
            }
            if Instant::now() >= deadline {
                return Err(HarnessError::TimedOut {
                    what: self.name.clone(),
                    expected: "exit",
                    within,
                });
            }
            std::thread::sleep(REAP_POLL);
        }
    }
}

/// The reaper: runs on the spawning thread until the child has exited and been reaped.
fn reap(state: &Mutex<State>) {
    loop {
        {
            let mut state = lock(state);
            match state.child.try_wait() {
                Ok(Some(status)) => {
                    state.exit = Some(status);
                    return;
                }
                Ok(None) => {}
                Err(_) => return, // not our child any more: nothing left to reap
            }
        }
        std::thread::sleep(REAP_POLL);
    }
}

/// Points `command`'s stdout and stderr at the file `log` (appended to), or discards both.
pub fn redirect_output(command: &mut Command, log: Option<&Path>) -> Result<(), HarnessError> {
    let Some(path) = log else {
        command.stdout(Stdio::null()).stderr(Stdio::null());
        return Ok(());
    };
    let log_error = |source| HarnessError::Log {
        path: path.to_path_buf(),
        source,
    };
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(log_error)?;
    command
        .stdout(file.try_clone().map_err(log_error)?)
        .stderr(file);
    Ok(())
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}
