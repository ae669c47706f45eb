//! Helpers for untrusted text on its way to people: a bounded, printable form of what an event
//! or an AWS answer carried, and email addresses taken out of what goes to logs.

/// A printable, bounded form of untrusted text: control characters and format characters
/// escaped, at most `max` chars. Format characters (Unicode's general category Cf: bidirectional
/// overrides and isolates, zero-width spaces and joiners, the byte-order mark, tags) print as
/// nothing, or reorder what follows, so a name could disguise a row; escaped, they show.
pub fn printable(value: &str, max: usize) -> String {
    let mut out = String::new();
    for c in value.chars().take(max) {
        if c.is_control() {
            out.extend(c.escape_debug());
        } else if is_format(c) {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    if value.chars().count() > max {
        out.push('…');
    }
    out
}

/// Whether `c` is a format character (general category Cf, Unicode 15.1's list).
fn is_format(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{0600}'..='\u{0605}'
            | '\u{061C}'
            | '\u{06DD}'
            | '\u{070F}'
            | '\u{0890}'..='\u{0891}'
            | '\u{08E2}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206F}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{110BD}'
            | '\u{110CD}'
            | '\u{13430}'..='\u{1343F}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0001}'
            | '\u{E0020}'..='\u{E007F}'
    )
}

/// `text` with every email-like token (`x@y`) replaced by `<email>`: for logs and Lambda error
/// messages, which must never carry an address, even one a service quoted back.
pub fn redact_emails(text: &str) -> String {
    let boundary = |c: char| c.is_whitespace() || "\"'<>()[]{},;:`".contains(c);
    let mut out = String::with_capacity(text.len());
    let mut token = String::new();
    let flush = |token: &mut String, out: &mut String| {
        let at = token.find('@');
        let is_email = at.is_some_and(|i| i > 0 && i + 1 < token.len());
        out.push_str(if is_email { "<email>" } else { token.as_str() });
        token.clear();
    };
    for c in text.chars() {
        if boundary(c) {
            flush(&mut token, &mut out);
            out.push(c);
        } else {
            token.push(c);
        }
    }
    flush(&mut token, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_and_format_characters_are_shown_escaped() {
        assert_eq!(printable("a\nb", 10), "a\\nb");
        // A right-to-left override would show "evil.exe" as "exe.live"; a zero-width space
        // would hide a difference between two ids.
        assert_eq!(printable("live\u{202E}exe.", 20), "live\\u{202e}exe.");
        assert_eq!(printable("1111\u{200B}2222", 20), "1111\\u{200b}2222");
        assert_eq!(printable("\u{FEFF}x", 20), "\\u{feff}x");
        assert_eq!(
            printable("caf\u{e9} \u{4e2d}", 20),
            "caf\u{e9} \u{4e2d}",
            "letters stay"
        );
        assert_eq!(printable("abcdef", 3), "abc…");
    }

    #[test]
    fn email_addresses_are_redacted_from_text() {
        assert_eq!(
            redact_emails("Email address not verified guardduty-onboarding@example.com."),
            "Email address not verified <email>"
        );
        assert_eq!(
            redact_emails("To: <a.b+c@x.org>, \"d@e.f\""),
            "To: <<email>>, \"<email>\""
        );
        assert_eq!(
            redact_emails("no address here @ all, user@ or @host"),
            "no address here @ all, user@ or @host"
        );
    }
}
