//! A TLS-secured broker for tests: certificates of a throwaway CA made with the `openssl`
//! command ([`TestPki`]), and Debian's `stunnel` terminating TLS in front of a Tansu broker
//! that advertises the proxy's port, so every connection a client makes — bootstrap and the
//! ones metadata points it to — goes through TLS ([`SecuredBroker`]). Both tools come with
//! `scripts/test.sh`.
#![allow(dead_code)]

use super::kafka::start_broker_behind;
use super::prerequisites::{is_not_found, missing, started_or_missing};
use cj_assessment::kafka::properties::KafkaProperties;
use cj_assessment::lab::harness::broker::{Broker, BrokerStorage};
use cj_assessment::lab::harness::child::ChildProcess;
use cj_assessment::lab::harness::free_local_address;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long stunnel may take to open its port.
const PROXY_START_TIMEOUT: Duration = Duration::from_secs(10);
/// Validity of the test certificates: a day outlives any test run.
const VALIDITY_DAYS: &str = "1";

/// A CA with a server certificate for 127.0.0.1 and a client certificate, plus an unrelated
/// CA that signed neither (the wrong CA an operator might configure).
pub struct TestPki {
    pub directory: PathBuf,
}

impl TestPki {
    /// Makes the keys and certificates in a fresh directory under `parent`.
    pub fn generate(parent: &Path) -> TestPki {
        let directory = parent.join(format!("pki-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&directory).expect("a directory for the certificates");
        let pki = TestPki { directory };
        pki.certificate_authority("ca");
        pki.certificate_authority("other-ca");
        let server = "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n";
        pki.signed("server", "127.0.0.1", server);
        pki.signed("client", "cj-assessment", "extendedKeyUsage=clientAuth\n");
        pki
    }

    /// `<name>.pem`, a certificate.
    pub fn certificate(&self, name: &str) -> PathBuf {
        self.directory.join(format!("{name}.pem"))
    }

    /// `<name>.key`, an unencrypted private key.
    pub fn key(&self, name: &str) -> PathBuf {
        self.directory.join(format!("{name}.key"))
    }

    /// The client properties of a TLS connection that trusts `ca`, with the client
    /// certificate when `with_client_certificate`.
    pub fn client_properties(&self, ca: &str, with_client_certificate: bool) -> KafkaProperties {
        let mut text = format!(
            "security.protocol=SSL;ssl.ca.location={}",
            self.certificate(ca).display()
        );
        if with_client_certificate {
            text += &format!(
                ";ssl.certificate.location={};ssl.key.location={}",
                self.certificate("client").display(),
                self.key("client").display()
            );
        }
        KafkaProperties::parse(&text).expect("valid TLS properties")
    }

    fn certificate_authority(&self, name: &str) {
        let subject = format!("/CN=cj test {name}");
        let (key, certificate) = (format!("{name}.key"), format!("{name}.pem"));
        openssl(
            &self.directory,
            "req -x509 -addext basicConstraints=critical,CA:TRUE \
             -addext keyUsage=critical,keyCertSign,cRLSign",
            &["-subj", &subject, "-keyout", &key, "-out", &certificate],
        );
    }

    /// A key and a certificate for `common_name` signed by `ca`, with `extensions`.
    fn signed(&self, name: &str, common_name: &str, extensions: &str) {
        let (key, request, certificate) = (
            format!("{name}.key"),
            format!("{name}.csr"),
            format!("{name}.pem"),
        );
        let extensions_file = format!("{name}.ext");
        std::fs::write(self.directory.join(&extensions_file), extensions)
            .expect("write the extensions");
        let subject = format!("/CN={common_name}");
        openssl(
            &self.directory,
            "req",
            &["-subj", &subject, "-keyout", &key, "-out", &request],
        );
        openssl(
            &self.directory,
            "x509 -req -CA ca.pem -CAkey ca.key -CAcreateserial",
            &[
                "-in",
                &request,
                "-extfile",
                &extensions_file,
                "-out",
                &certificate,
            ],
        );
    }
}

/// Runs `openssl <command> <arguments>`; new keys are unencrypted P-256 keys, certificates
/// valid for [`VALIDITY_DAYS`].
fn openssl(directory: &Path, command: &str, arguments: &[&str]) {
    let mut args: Vec<&str> = command.split_whitespace().collect();
    if args[0] == "req" {
        args.extend([
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ]);
    }
    if args[0] == "x509" || args.contains(&"-x509") {
        args.extend(["-days", VALIDITY_DAYS]);
    }
    args.extend(arguments);
    let output = Command::new("openssl")
        .args(&args)
        .current_dir(directory)
        .output()
        .unwrap_or_else(|error| match error {
            error if is_not_found(&error) => missing("openssl", "apt-get install openssl"),
            other => panic!("openssl does not start: {other}"),
        });
    assert!(
        output.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A Tansu broker reachable only through stunnel, which presents the server certificate of
/// `pki` and, when `require_client_certificate`, accepts only clients with a certificate of
/// its CA.
pub struct SecuredBroker {
    /// The proxy's address: the only bootstrap address, and the one metadata advertises.
    pub address: SocketAddr,
    _proxy: ChildProcess,
    _broker: Broker,
}

impl SecuredBroker {
    pub fn start(pki: &TestPki, require_client_certificate: bool) -> SecuredBroker {
        let address = free_local_address().expect("a free port for the proxy");
        let storage = pki.directory.join("broker");
        let broker = start_broker_behind(BrokerStorage::Sqlite(storage), address);
        let configuration = pki.directory.join("stunnel.conf");
        let client_check = if require_client_certificate {
            format!(
                "requireCert = yes\nverifyChain = yes\nCAfile = {}\n",
                pki.certificate("ca").display()
            )
        } else {
            String::new()
        };
        std::fs::write(
            &configuration,
            format!(
                "foreground = yes\npid =\noutput = {log}\n\n[kafka]\naccept = {address}\n\
                 connect = {broker}\ncert = {cert}\nkey = {key}\n{client_check}",
                log = pki.directory.join("stunnel.log").display(),
                broker = broker.address(),
                cert = pki.certificate("server").display(),
                key = pki.key("server").display(),
            ),
        )
        .expect("write the stunnel configuration");
        let mut command = Command::new("stunnel");
        command
            .arg(&configuration)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let proxy = started_or_missing(
            ChildProcess::spawn("stunnel", command),
            "stunnel",
            "apt-get install stunnel4",
        );
        let deadline = Instant::now() + PROXY_START_TIMEOUT;
        while TcpStream::connect(address).is_err() {
            assert!(
                proxy.is_running() && Instant::now() < deadline,
                "stunnel did not open {address}; its log: {}",
                std::fs::read_to_string(pki.directory.join("stunnel.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        SecuredBroker {
            address,
            _proxy: proxy,
            _broker: broker,
        }
    }
}
