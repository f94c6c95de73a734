//! The start-up check that the brokers answer through the configured security: one client
//! with the operator's properties asks for metadata until the brokers answer, librdkafka
//! reports a TLS or authentication failure, or the time is up. Without it a wrong CA
//! certificate or password shows as a service that retries forever, its reason buried in
//! librdkafka's log; with it `serve` stops at once with one line that says what failed and
//! which property to check.

use super::client_config;
use crate::config::KafkaSettings;
use rdkafka::client::{ClientContext, DefaultClientContext};
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::error::KafkaError;
use rdkafka::producer::{BaseProducer, DeliveryResult, Producer, ProducerContext};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::util::Timeout;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long one metadata request may wait before the check looks at the errors reported
/// meanwhile: a TLS failure is reported within milliseconds, so it ends the check early.
const ATTEMPT: Duration = Duration::from_millis(500);
/// How long the check then waits for librdkafka's error events (they arrive on the client's
/// queue, served only while it is polled).
const ERROR_EVENTS: Duration = Duration::from_millis(100);

/// What the check found wrong. Each renders as one line naming what to check.
#[derive(Debug, thiserror::Error)]
pub enum BrokerCheckError {
    #[error("Kafka TLS handshake failed: {summary} (check {check}); librdkafka: {reason}")]
    TlsHandshake {
        summary: &'static str,
        check: &'static str,
        reason: String,
    },
    #[error(
        "Kafka authentication failed (check sasl.mechanism, sasl.username and sasl.password); \
         librdkafka: {reason}"
    )]
    Authentication { reason: String },
    #[error("the Kafka brokers {brokers} did not answer within {within:?}: {last_error}")]
    Unreachable {
        brokers: String,
        within: Duration,
        last_error: String,
    },
    #[error("creating the Kafka client of the connectivity check: {0}")]
    Client(#[source] KafkaError),
}

/// Waits until the brokers of `settings` answer a metadata request, at most `within`; a TLS
/// or authentication failure ends the wait at once.
pub async fn verify_brokers(
    settings: &KafkaSettings,
    within: Duration,
) -> Result<(), BrokerCheckError> {
    let settings = settings.clone();
    tokio::task::spawn_blocking(move || verify_blocking(&settings, within))
        .await
        .unwrap_or_else(|joined| std::panic::resume_unwind(joined.into_panic()))
}

fn verify_blocking(settings: &KafkaSettings, within: Duration) -> Result<(), BrokerCheckError> {
    // A producer only because its poll hands librdkafka's error events, with their reasons,
    // to the context; it never sends anything.
    let client: BaseProducer<ErrorRecorder> = client_config::admin(settings)
        .create_with_context(ErrorRecorder::default())
        .map_err(BrokerCheckError::Client)?;
    let deadline = Instant::now() + within;
    loop {
        let wait = deadline
            .saturating_duration_since(Instant::now())
            .min(ATTEMPT);
        let attempt = client.client().fetch_metadata(None, Timeout::After(wait));
        if attempt.is_ok() {
            return Ok(());
        }
        client.poll(ERROR_EVENTS);
        if let Some(failure) = client.context().failure() {
            return Err(failure);
        }
        if Instant::now() >= deadline {
            let last_error = client.context().last_error().unwrap_or_else(|| {
                attempt
                    .err()
                    .map_or_else(String::new, |error| error.to_string())
            });
            return Err(BrokerCheckError::Unreachable {
                brokers: settings.kafka_brokers.clone(),
                within,
                last_error,
            });
        }
    }
}

/// Keeps the errors librdkafka reports while the check runs. Its error-level log lines say
/// the same as those errors, which end in the check's one line, so they are not logged; the
/// rest of its log goes where every client's goes.
#[derive(Default)]
struct ErrorRecorder {
    errors: Mutex<Vec<(Option<RDKafkaErrorCode>, String)>>,
}

impl ErrorRecorder {
    fn reported(&self) -> Vec<(Option<RDKafkaErrorCode>, String)> {
        self.errors
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// The first TLS or authentication failure reported, if any.
    fn failure(&self) -> Option<BrokerCheckError> {
        self.reported()
            .into_iter()
            .find_map(|(code, reason)| classify(code, reason))
    }

    /// The last reported error that says more than how many brokers are down.
    fn last_error(&self) -> Option<String> {
        let reported = self.reported();
        let telling = reported
            .iter()
            .rev()
            .find(|(code, _)| *code != Some(RDKafkaErrorCode::AllBrokersDown));
        telling
            .or(reported.last())
            .map(|(_, reason)| reason.clone())
    }
}

impl ClientContext for ErrorRecorder {
    fn log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        if (level as i32) > (RDKafkaLogLevel::Error as i32) {
            DefaultClientContext.log(level, facility, message);
        }
    }

    fn error(&self, error: KafkaError, reason: &str) {
        self.errors
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push((error.rdkafka_error_code(), reason.to_string()));
    }
}

impl ProducerContext for ErrorRecorder {
    type DeliveryOpaque = ();

    fn delivery(&self, _: &DeliveryResult<'_>, _: ()) {}
}

/// A reported error that retrying will not cure, as the check's error. TLS 1.3 brokers
/// refuse a client certificate after the handshake, so their alert arrives as a receive
/// failure that names the SSL routines.
fn classify(code: Option<RDKafkaErrorCode>, reason: String) -> Option<BrokerCheckError> {
    let tls = code == Some(RDKafkaErrorCode::SSL)
        || reason.contains("SSL handshake failed")
        || reason.contains("SSL routines");
    if tls {
        let (summary, check) = if reason.contains("certificate verify failed") {
            ("certificate verify failed", "ssl.ca.location")
        } else if reason.contains("alert certificate required") {
            (
                "the broker requires a client certificate",
                "ssl.certificate.location and ssl.key.location",
            )
        } else {
            (
                "the broker ended the TLS session",
                "ssl.certificate.location and ssl.key.location: the broker may want a client \
                 certificate of another CA",
            )
        };
        return Some(BrokerCheckError::TlsHandshake {
            summary,
            check,
            reason,
        });
    }
    (code == Some(RDKafkaErrorCode::Authentication))
        .then_some(BrokerCheckError::Authentication { reason })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unverified_broker_certificate_points_at_the_ca_setting() {
        let reason = "ssl://127.0.0.1:9093/bootstrap: SSL handshake failed: error:0A000086:SSL \
                      routines::certificate verify failed: broker certificate could not be \
                      verified (after 3ms in state SSL_HANDSHAKE)";
        let error = classify(Some(RDKafkaErrorCode::SSL), reason.into()).expect("a failure");
        assert!(error.to_string().starts_with(
            "Kafka TLS handshake failed: certificate verify failed (check ssl.ca.location); \
             librdkafka: ssl://127.0.0.1:9093/bootstrap"
        ));
    }

    #[test]
    fn a_refused_client_certificate_points_at_the_client_certificate() {
        let missing = "ssl://127.0.0.1:9093/bootstrap: Receive failed: error:0A00045C:SSL \
                       routines::tlsv13 alert certificate required: SSL alert number 116";
        let error = classify(
            Some(RDKafkaErrorCode::BrokerTransportFailure),
            missing.into(),
        )
        .expect("a failure");
        assert!(error.to_string().starts_with(
            "Kafka TLS handshake failed: the broker requires a client certificate (check \
             ssl.certificate.location and ssl.key.location)"
        ));
        let refused = "ssl://b:9093/bootstrap: SSL handshake failed: ssl/record/rec_layer_s3.c: \
                       sslv3 alert bad certificate";
        let error = classify(Some(RDKafkaErrorCode::SSL), refused.into()).expect("a failure");
        assert!(error.to_string().contains("check ssl.certificate.location"));
    }

    #[test]
    fn authentication_failures_end_the_check_and_transport_failures_do_not() {
        let auth = classify(
            Some(RDKafkaErrorCode::Authentication),
            "SASL authentication error: Authentication failed".into(),
        );
        assert!(matches!(
            auth,
            Some(BrokerCheckError::Authentication { .. })
        ));
        let down = classify(
            Some(RDKafkaErrorCode::BrokerTransportFailure),
            "Connection refused".into(),
        );
        assert!(down.is_none(), "a broker that is not up yet may come");
    }
}
