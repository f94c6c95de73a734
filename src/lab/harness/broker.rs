//! A Tansu broker as a child process on a free local port, with memory storage (gone when it
//! stops) or SQLite storage in a directory (topics, messages and committed offsets survive a
//! stop). It may advertise another address than its own ([`Broker::start_behind`]: a TLS
//! proxy in front of it). [`Broker::stop`] kills or terminates it; [`Broker::start_again`] brings it back on
//! the same port and storage, as an outage that ends would; [`Broker::signal`] can freeze
//! and thaw it instead. Dropped, it is killed.

use super::child::{redirect_output, ChildProcess};
use super::error::HarnessError;
use super::free_local_address;
use super::signals::Signal;
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long a starting broker may take to open its port.
const START_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a stopped broker may take to exit.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// Where the broker keeps its data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BrokerStorage {
    /// In memory: lost when the broker stops.
    Memory,
    /// `tansu.db` in this directory (created when missing); survives a stop. Needs a Tansu
    /// built with the `libsql` feature.
    Sqlite(PathBuf),
}

impl BrokerStorage {
    /// Tansu's `--storage-engine` URL. Tansu reads a SQLite path relative to its working
    /// directory (even after `sqlite:///`), so the broker runs in the storage directory.
    pub fn engine_url(&self) -> &'static str {
        match self {
            BrokerStorage::Memory => "memory://tansu/",
            BrokerStorage::Sqlite(_) => "sqlite://tansu.db",
        }
    }
}

/// How to run the broker.
#[derive(Debug, Clone)]
pub struct BrokerLaunch {
    /// The `tansu` executable (a name on PATH or a path).
    pub binary: PathBuf,
    pub storage: BrokerStorage,
    /// Where its output goes (appended); discarded when `None`.
    pub log_path: Option<PathBuf>,
}

/// A broker this process started.
pub struct Broker {
    launch: BrokerLaunch,
    address: SocketAddr,
    /// Where its metadata sends clients, when not to `address`.
    advertised: Option<SocketAddr>,
    process: Option<ChildProcess>,
}

impl Broker {
    /// Starts the broker on a free port and waits until it accepts connections.
    pub fn start(launch: BrokerLaunch) -> Result<Broker, HarnessError> {
        Broker::launch(launch, None)
    }

    /// [`Broker::start`], with metadata that sends clients to `advertised` (a proxy in front
    /// of the broker) instead of the broker's own port.
    pub fn start_behind(
        launch: BrokerLaunch,
        advertised: SocketAddr,
    ) -> Result<Broker, HarnessError> {
        Broker::launch(launch, Some(advertised))
    }

    fn launch(
        launch: BrokerLaunch,
        advertised: Option<SocketAddr>,
    ) -> Result<Broker, HarnessError> {
        let mut broker = Broker {
            address: free_local_address()?,
            advertised,
            launch,
            process: None,
        };
        broker.start_again()?;
        Ok(broker)
    }

    /// The bootstrap address (`127.0.0.1:<port>`).
    pub fn address(&self) -> String {
        self.address.to_string()
    }

    pub fn is_running(&self) -> bool {
        self.process.as_ref().is_some_and(ChildProcess::is_running)
    }

    /// Stops the broker with `signal` and waits until it has exited.
    pub fn stop(&mut self, signal: Signal) -> Result<(), HarnessError> {
        let Some(process) = self.process.take() else {
            return Err(HarnessError::NotRunning { what: self.name() });
        };
        process.signal(signal)?;
        process.wait_blocking(STOP_TIMEOUT)?;
        Ok(())
    }

    /// Sends `signal` to the running broker (SIGSTOP freezes it, SIGCONT thaws it: an
    /// outage without a restart).
    pub fn signal(&self, signal: Signal) -> Result<(), HarnessError> {
        match &self.process {
            Some(process) if process.signal(signal)? => Ok(()),
            _ => Err(HarnessError::NotRunning { what: self.name() }),
        }
    }

    /// Starts the broker (again) on its port with its storage; waits until it accepts
    /// connections.
    pub fn start_again(&mut self) -> Result<(), HarnessError> {
        if self.is_running() {
            return Err(HarnessError::AlreadyRunning { what: self.name() });
        }
        if let BrokerStorage::Sqlite(directory) = &self.launch.storage {
            std::fs::create_dir_all(directory).map_err(|source| HarnessError::Storage {
                path: directory.clone(),
                source,
            })?;
        }
        let process = ChildProcess::spawn(&self.name(), self.command()?)?;
        let deadline = Instant::now() + START_TIMEOUT;
        while TcpStream::connect(self.address).is_err() {
            if let Some(status) = process.exit_status() {
                return Err(HarnessError::Exited {
                    what: self.name(),
                    status,
                    expected: "opened its port",
                });
            }
            if Instant::now() >= deadline {
                return Err(HarnessError::TimedOut {
                    what: self.name(),
                    expected: "open its port",
                    within: START_TIMEOUT,
                });
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.process = Some(process);
        Ok(())
    }

    fn name(&self) -> String {
        format!("tansu broker on {}", self.address)
    }

    fn command(&self) -> Result<Command, HarnessError> {
        let url = format!("tcp://{}", self.address);
        let advertised = format!("tcp://{}", self.advertised.unwrap_or(self.address));
        let mut command = Command::new(&self.launch.binary);
        command
            .args(["broker", "--listener-url", &url])
            .args(["--advertised-listener-url", &advertised])
            .args(["--storage-engine", self.launch.storage.engine_url()])
            .stdin(Stdio::null());
        if let BrokerStorage::Sqlite(directory) = &self.launch.storage {
            command.current_dir(directory);
        }
        redirect_output(&mut command, self.launch.log_path.as_deref())?;
        Ok(command)
    }
}
