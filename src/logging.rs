//! The function's log records, as Lambda's logging controls ask for them:
//! `AWS_LAMBDA_LOG_FORMAT=JSON` (which the template's `LogFormat: JSON` sets) writes one JSON
//! object a record, anything else plain text; `AWS_LAMBDA_LOG_LEVEL` (or `RUST_LOG` when it is
//! unset) is the level, `INFO` by default. No ANSI colours and no time stamps: CloudWatch Logs
//! stamps every record itself.
//!
//! A level is all either variable takes: a filter language per module would cost a regular
//! expression engine in the binary for a choice the template does not offer. Release builds
//! leave out `TRACE` records altogether (`tracing`'s `release_max_level_debug`), which the
//! template does not offer either.

use tracing::level_filters::LevelFilter;

/// Sets the process's subscriber from the environment.
pub fn init() {
    let format = std::env::var("AWS_LAMBDA_LOG_FORMAT").unwrap_or_default();
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .ok();
    let builder = tracing_subscriber::fmt()
        .with_target(false)
        .without_time()
        .with_ansi(false)
        .with_max_level(level_of(level.as_deref()));
    if format.eq_ignore_ascii_case("json") {
        builder.json().init();
    } else {
        builder.init();
    }
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
}
