//! The function's log records, as Lambda's logging controls ask for them:
//! `AWS_LAMBDA_LOG_FORMAT=JSON` (which the template's `LogFormat: JSON` sets) writes one JSON
//! object a record, anything else plain text; `AWS_LAMBDA_LOG_LEVEL` (or `RUST_LOG` when it is
//! unset) is the level, `INFO` by default. No ANSI colours.
//!
//! A JSON record is `{"timestamp":"…","level":"INFO","fields":{"message":"…","account_id":"…",…}}`,
//! the shape `tracing-subscriber`'s JSON formatter writes (the tests read the records with it).
//! The RFC 3339 `timestamp` is what makes Lambda's log-level filtering honour the record's level
//! ([`crate::clock`]). A plain record is `INFO message key=value …`, and CloudWatch Logs stamps
//! it. The few lines that write them are here rather than
//! `tracing-subscriber`'s formatters, which took 0.4 MiB of the arm64 binary for two formats and
//! features the function does not use (spans, timers, filters, colours). Spans are not written:
//! the function opens none, and the SDK's are at `DEBUG`, where each call's own records say what
//! it is.
//!
//! A level is all either variable takes: a filter language per module would cost a regular
//! expression engine in the binary for a choice the template does not offer. Release builds
//! leave out `TRACE` records altogether (`tracing`'s `release_max_level_debug`), which the
//! template does not offer either.

use std::fmt::Write as _;
use std::io::Write as _;

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

/// Sets the process's subscriber from the environment.
pub fn init() {
    let format = std::env::var("AWS_LAMBDA_LOG_FORMAT").unwrap_or_default();
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .ok();
    let lines = Lines {
        max: level_of(level.as_deref()),
        json: format.eq_ignore_ascii_case("json"),
    };
    // Only fails when a subscriber is already set, and then that one writes.
    let _ = tracing::subscriber::set_global_default(lines);
}

/// Writes each record to standard output, one line each.
struct Lines {
    max: LevelFilter,
    json: bool,
}

/// A record's fields, as JSON values: strings and numbers as they are, anything else (the
/// message, `%display` and `?debug` values) as its text.
#[derive(Default)]
struct Fields(Map<String, Value>);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0
            .insert(field.name().to_owned(), Value::String(format!("{value:?}")));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0
            .insert(field.name().to_owned(), Value::String(value.to_owned()));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }
}

impl Lines {
    /// The record's line, without its line end; `millis` is its time (epoch milliseconds).
    fn line(&self, level: &tracing::Level, fields: Fields, millis: u64) -> String {
        if self.json {
            let mut record = Map::new();
            record.insert(
                "timestamp".to_owned(),
                Value::String(crate::clock::rfc3339(millis)),
            );
            record.insert("level".to_owned(), Value::String(level.to_string()));
            record.insert("fields".to_owned(), Value::Object(fields.0));
            return Value::Object(record).to_string();
        }
        let mut line = format!("{level:>5}");
        let mut fields = fields.0;
        if let Some(Value::String(message)) = fields.remove("message") {
            let _ = write!(line, " {message}");
        }
        for (key, value) in fields {
            match value {
                Value::String(text) => {
                    let _ = write!(line, " {key}={text}");
                }
                other => {
                    let _ = write!(line, " {key}={other}");
                }
            }
        }
        line
    }
}

impl Subscriber for Lines {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        self.max >= *metadata.level()
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(self.max)
    }

    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let mut line = self.line(event.metadata().level(), fields, crate::clock::now_millis());
        line.push('\n');
        // A record that cannot be written has nowhere else to go.
        let _ = std::io::stdout().lock().write_all(line.as_bytes());
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

/// The level a variable names: `TRACE`, `DEBUG`, `INFO`, `WARN`, `ERROR`, or Lambda's `FATAL`
/// (as `ERROR`), in any case; `INFO` for anything else.
pub fn level_of(value: Option<&str>) -> LevelFilter {
    match value.map(|v| v.trim().to_ascii_uppercase()).as_deref() {
        Some("TRACE") => LevelFilter::TRACE,
        Some("DEBUG") => LevelFilter::DEBUG,
        Some("WARN") => LevelFilter::WARN,
        Some("ERROR") | Some("FATAL") => LevelFilter::ERROR,
        Some("OFF") => LevelFilter::OFF,
        _ => LevelFilter::INFO,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lambdas_levels_are_read_and_anything_else_is_info() {
        assert_eq!(level_of(Some("DEBUG")), LevelFilter::DEBUG);
        assert_eq!(level_of(Some(" warn ")), LevelFilter::WARN);
        assert_eq!(level_of(Some("FATAL")), LevelFilter::ERROR);
        assert_eq!(level_of(Some("trace")), LevelFilter::TRACE);
        assert_eq!(level_of(Some("onboarder=debug")), LevelFilter::INFO);
        assert_eq!(level_of(None), LevelFilter::INFO);
    }

    fn fields(pairs: &[(&str, Value)]) -> Fields {
        Fields(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect(),
        )
    }

    #[test]
    fn a_record_is_one_json_object_or_one_plain_line() {
        let record = || {
            fields(&[
                ("message", Value::from("batch answered")),
                ("records", Value::from(3)),
                ("account_id", Value::from("111111111111")),
            ])
        };
        let json = Lines {
            max: LevelFilter::INFO,
            json: true,
        }
        .line(&tracing::Level::WARN, record(), 1_798_761_599_999);
        let parsed: Value = serde_json::from_str(&json).expect("JSON");
        assert_eq!(parsed["timestamp"], "2026-12-31T23:59:59.999Z");
        assert_eq!(parsed["level"], "WARN");
        assert_eq!(parsed["fields"]["message"], "batch answered");
        assert_eq!(parsed["fields"]["records"], 3);
        assert_eq!(parsed["fields"]["account_id"], "111111111111");
        assert!(!json.contains('\n'));
        let plain = Lines {
            max: LevelFilter::INFO,
            json: false,
        }
        .line(&tracing::Level::INFO, record(), 1_798_761_599_999);
        assert_eq!(
            plain,
            " INFO batch answered account_id=111111111111 records=3"
        );
    }

    #[test]
    fn records_above_the_level_are_not_enabled() {
        let lines = Lines {
            max: LevelFilter::WARN,
            json: true,
        };
        assert_eq!(lines.max_level_hint(), Some(LevelFilter::WARN));
        let enabled = tracing::subscriber::with_default(lines, || {
            [
                tracing::enabled!(tracing::Level::ERROR),
                tracing::enabled!(tracing::Level::WARN),
                tracing::enabled!(tracing::Level::INFO),
                tracing::enabled!(tracing::Level::DEBUG),
            ]
        });
        assert_eq!(enabled, [true, true, false, false]);
    }
}
