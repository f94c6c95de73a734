//! librdkafka client properties the operator adds to the service's Kafka clients (consumers,
//! producers, the admin client): TLS, SASL, timeouts — whatever a secured or managed Kafka
//! needs. They come from `CJ_KAFKA_PROPERTIES` (`key=value` pairs separated by `;` or new
//! lines) and `CJ_KAFKA_PROPERTIES_FILE` (a Java-style `.properties` file: `key=value` lines,
//! `#` or `!` comments, blank lines); the file's first, then the variable's, and both after
//! the service's own settings, so the operator's value wins.
//!
//! Three rules keep that safe:
//! - Properties the service's guarantees rest on, or that have a setting of their own, are
//!   refused with the reason ([`RESERVED`]).
//! - Every property is checked against librdkafka when it is read, so a misspelt name or a
//!   bad value stops the start with its name, not at the first client.
//! - Secrets never reach a log: [`KafkaProperties`]'s `Debug` (what logging the settings
//!   prints) and every error show the value of a [secret](is_secret) key as `***`.

use rdkafka::error::KafkaError;
use rdkafka::ClientConfig;
use std::fmt;
use std::path::{Path, PathBuf};

/// What separates pairs in `CJ_KAFKA_PROPERTIES`: no librdkafka value the service's users
/// need contains a `;` (cipher and curve lists use `:`, lists `,`); a password that does can
/// go in the file, which takes one pair per line.
pub const PAIR_SEPARATORS: [char; 2] = [';', '\n'];

/// What a secret value shows as.
pub const REDACTED: &str = "***";

/// Properties the operator may not set, and why.
pub const RESERVED: [(&str, &str); 12] = [
    ("bootstrap.servers", "set CJ_KAFKA_BROKERS instead"),
    ("group.id", "set CJ_CONSUMER_GROUP instead"),
    ("fetch.wait.max.ms", "set CJ_KAFKA_FETCH_WAIT_MS instead"),
    ("debug", "set CJ_KAFKA_DEBUG instead"),
    (
        "enable.auto.commit",
        "offsets are committed in the background once their messages are handled; without it \
         nothing is committed and every restart handles everything again",
    ),
    (
        "enable.auto.offset.store",
        "an offset is stored only after its message is handled; stored on receipt, a crash \
         would lose the messages in hand",
    ),
    (
        "auto.offset.reset",
        "a new consumer group starts at the earliest message; anything later would skip \
         requests published before it joined",
    ),
    (
        "enable.partition.eof",
        "the consumer does not expect end-of-partition events",
    ),
    (
        "enable.idempotence",
        "the producer is idempotent: retries never duplicate or reorder a message",
    ),
    (
        "acks",
        "a message counts as sent only when every in-sync replica has it",
    ),
    (
        "transactional.id",
        "the producer is not transactional; with an id it would refuse to send",
    ),
    (
        "group.instance.id",
        "several clients of one process share these properties and would fence each other \
         with one static member id",
    ),
];

/// Whether the value of `key` is a secret: its name mentions a password, a secret or a key
/// (`sasl.password`, `ssl.key.password`, `ssl.key.pem`, `sasl.oauthbearer.client.secret`),
/// or it is the OAUTHBEARER configuration string, which can carry a client secret.
pub fn is_secret(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    ["password", "secret", "key"]
        .iter()
        .any(|word| key.contains(word))
        || key == "sasl.oauthbearer.config"
}

/// `value`, or [`REDACTED`] when it belongs to a secret key.
pub fn shown_value<'a>(key: &str, value: &'a str) -> &'a str {
    if is_secret(key) {
        REDACTED
    } else {
        value
    }
}

/// Why properties were refused. No variant's message contains a secret value.
#[derive(Debug, thiserror::Error)]
pub enum PropertiesError {
    #[error("{origin}, {unit} {number}: expected key=value")]
    NotAPair {
        origin: String,
        unit: &'static str,
        number: usize,
    },
    #[error("{origin}: {key} cannot be set: {reason}")]
    Reserved {
        origin: String,
        key: String,
        reason: &'static str,
    },
    #[error("{origin}: librdkafka refuses {key}: {detail}")]
    Refused {
        origin: String,
        key: String,
        detail: String,
    },
    #[error("cannot read the Kafka properties file {path}: {source}")]
    Unreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Client properties in the order they were given (a later value of a key wins).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct KafkaProperties {
    pairs: Vec<(String, String)>,
}

impl KafkaProperties {
    /// `key=value` pairs separated by `;` or new lines (`CJ_KAFKA_PROPERTIES`); blank
    /// entries are skipped, spaces around keys and values trimmed.
    pub fn parse(text: &str) -> Result<KafkaProperties, PropertiesError> {
        let entries = text.split(PAIR_SEPARATORS).enumerate();
        KafkaProperties::from_entries("CJ_KAFKA_PROPERTIES", "entry", entries)
    }

    /// The lines of a `.properties` file: `key=value`, `#` and `!` start comments, blank
    /// lines are skipped.
    pub fn parse_file_text(origin: &str, text: &str) -> Result<KafkaProperties, PropertiesError> {
        let lines = text.lines().enumerate().filter(|(_, line)| {
            let line = line.trim_start();
            !(line.starts_with('#') || line.starts_with('!'))
        });
        KafkaProperties::from_entries(origin, "line", lines)
    }

    /// Reads and parses a `.properties` file.
    pub fn read_file(path: &Path) -> Result<KafkaProperties, PropertiesError> {
        let text = std::fs::read_to_string(path).map_err(|source| PropertiesError::Unreadable {
            path: path.to_path_buf(),
            source,
        })?;
        KafkaProperties::parse_file_text(&path.display().to_string(), &text)
    }

    fn from_entries<'a>(
        origin: &str,
        unit: &'static str,
        entries: impl Iterator<Item = (usize, &'a str)>,
    ) -> Result<KafkaProperties, PropertiesError> {
        let mut pairs = Vec::new();
        for (index, entry) in entries {
            if entry.trim().is_empty() {
                continue;
            }
            let (key, value) = entry
                .split_once('=')
                .map(|(key, value)| (key.trim(), value.trim()))
                .filter(|(key, _)| !key.is_empty())
                .ok_or_else(|| PropertiesError::NotAPair {
                    origin: origin.to_string(),
                    unit,
                    number: index + 1,
                })?;
            check(origin, key, value)?;
            pairs.push((key.to_string(), value.to_string()));
        }
        Ok(KafkaProperties { pairs })
    }

    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// The pairs in order.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Sets every pair on `config`, overriding what was there.
    pub fn apply_to(&self, config: &mut ClientConfig) {
        for (key, value) in self.pairs() {
            config.set(key, value);
        }
    }

    /// The pairs as `CJ_KAFKA_PROPERTIES` takes them back (`;`-separated: for pairs that came
    /// from that variable; a file's values may hold a `;`). Holds the secrets in clear: for a
    /// child process's environment, never for a log.
    pub fn to_environment_value(&self) -> String {
        self.pairs
            .iter()
            .map(|(key, value)| format!("{key}={value}"))
            .collect::<Vec<_>>()
            .join(";")
    }
}

/// Secret values show as `***`.
impl fmt::Debug for KafkaProperties {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(
                self.pairs()
                    .map(|(key, value)| (key, shown_value(key, value))),
            )
            .finish()
    }
}

/// Refuses a reserved key, and anything librdkafka would refuse (the value in its answer
/// redacted when secret).
fn check(origin: &str, key: &str, value: &str) -> Result<(), PropertiesError> {
    if let Some((_, reason)) = RESERVED.iter().find(|(reserved, _)| *reserved == key) {
        return Err(PropertiesError::Reserved {
            origin: origin.to_string(),
            key: key.to_string(),
            reason,
        });
    }
    let mut probe = ClientConfig::new();
    probe.set(key, value);
    match probe.create_native_config() {
        Ok(_) => Ok(()),
        Err(error) => {
            let detail = match error {
                KafkaError::ClientConfig(_, description, _, _) => description,
                other => other.to_string(),
            };
            let detail = if is_secret(key) && !value.is_empty() {
                detail.replace(value, REDACTED)
            } else {
                detail
            };
            Err(PropertiesError::Refused {
                origin: origin.to_string(),
                key: key.to_string(),
                detail,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(properties: &KafkaProperties) -> Vec<(&str, &str)> {
        properties.pairs().collect()
    }

    #[test]
    fn pairs_split_on_semicolons_and_new_lines_trimmed_and_in_order() {
        let properties = KafkaProperties::parse(
            " security.protocol = SASL_SSL ;sasl.mechanism=SCRAM-SHA-512\n\nsasl.username=cj;",
        )
        .unwrap();
        assert_eq!(
            pairs(&properties),
            [
                ("security.protocol", "SASL_SSL"),
                ("sasl.mechanism", "SCRAM-SHA-512"),
                ("sasl.username", "cj"),
            ]
        );
        assert!(KafkaProperties::parse("").unwrap().is_empty());
    }

    #[test]
    fn a_value_keeps_its_equals_signs() {
        let properties = KafkaProperties::parse("sasl.password=a=b==").unwrap();
        assert_eq!(pairs(&properties), [("sasl.password", "a=b==")]);
    }

    #[test]
    fn a_file_skips_comments_and_blank_lines_and_keeps_semicolons_in_values() {
        let text = "# managed Kafka\n! also a comment\n\nsecurity.protocol=SASL_SSL\n\
                    sasl.password=pa;ss\n";
        let properties = KafkaProperties::parse_file_text("kafka.properties", text).unwrap();
        assert_eq!(
            pairs(&properties),
            [
                ("security.protocol", "SASL_SSL"),
                ("sasl.password", "pa;ss")
            ]
        );
    }

    #[test]
    fn an_entry_without_equals_names_its_place_not_its_text() {
        let error = KafkaProperties::parse("security.protocol=SSL;hunter2").unwrap_err();
        assert_eq!(
            error.to_string(),
            "CJ_KAFKA_PROPERTIES, entry 2: expected key=value"
        );
        let error = KafkaProperties::parse_file_text("f.properties", "# c\n=x").unwrap_err();
        assert_eq!(
            error.to_string(),
            "f.properties, line 2: expected key=value"
        );
    }

    #[test]
    fn properties_the_guarantees_rest_on_are_refused_with_the_reason() {
        for (key, _) in RESERVED {
            let error = KafkaProperties::parse(&format!("{key}=x")).unwrap_err();
            assert!(
                matches!(error, PropertiesError::Reserved { key: ref k, .. } if k == key),
                "{key}: {error}"
            );
        }
        let error = KafkaProperties::parse("enable.auto.commit=false").unwrap_err();
        assert!(error.to_string().starts_with(
            "CJ_KAFKA_PROPERTIES: enable.auto.commit cannot be set: offsets are committed"
        ));
    }

    #[test]
    fn librdkafka_checks_names_and_values_when_they_are_read() {
        let error = KafkaProperties::parse("sasl.pasword=x").unwrap_err();
        assert!(
            matches!(error, PropertiesError::Refused { ref key, .. } if key == "sasl.pasword"),
            "{error}"
        );
        assert!(KafkaProperties::parse("linger.ms=soon").is_err());
        KafkaProperties::parse(
            "security.protocol=SASL_SSL;sasl.mechanisms=SCRAM-SHA-512;\
             sasl.username=u;sasl.password=p;ssl.endpoint.identification.algorithm=https",
        )
        .expect("SASL_SSL with SCRAM: rdkafka is built with TLS");
    }

    #[test]
    fn secrets_show_as_stars_in_debug_output() {
        let properties = KafkaProperties::parse(
            "security.protocol=SSL;sasl.username=cj;sasl.password=hunter2;\
             ssl.key.password=kp;ssl.key.location=/etc/cj/client.key",
        )
        .unwrap();
        let shown = format!("{properties:?}");
        assert_eq!(
            shown,
            r#"{"security.protocol": "SSL", "sasl.username": "cj", "sasl.password": "***", "ssl.key.password": "***", "ssl.key.location": "***"}"#
        );
        for secret in ["hunter2", "kp", "client.key"] {
            assert!(!shown.contains(secret), "{secret} leaked: {shown}");
        }
    }

    #[test]
    fn which_keys_are_secret() {
        for key in [
            "sasl.password",
            "ssl.key.password",
            "ssl.key.pem",
            "ssl.keystore.password",
            "sasl.oauthbearer.client.secret",
            "sasl.oauthbearer.config",
            "SASL.PASSWORD",
        ] {
            assert!(is_secret(key), "{key}");
        }
        for key in ["security.protocol", "sasl.username", "ssl.ca.location"] {
            assert!(!is_secret(key), "{key}");
        }
    }

    #[test]
    fn the_environment_value_parses_back_to_the_same_pairs() {
        let properties = KafkaProperties::parse("security.protocol=SSL\nclient.id=cj").unwrap();
        let value = properties.to_environment_value();
        assert_eq!(value, "security.protocol=SSL;client.id=cj");
        assert_eq!(KafkaProperties::parse(&value).unwrap(), properties);
    }

    #[test]
    fn applied_last_the_operators_value_wins() {
        let mut config = ClientConfig::new();
        config.set("message.timeout.ms", "120000");
        KafkaProperties::parse("message.timeout.ms=30000")
            .unwrap()
            .apply_to(&mut config);
        assert_eq!(config.get("message.timeout.ms"), Some("30000"));
    }
}
