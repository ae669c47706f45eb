//! Helpers for untrusted text on its way to people: a bounded, printable form of what an event
//! or an AWS answer carried, and email addresses taken out of what goes to logs.

/// A printable, bounded form of untrusted text: control characters escaped, at most `max` chars.
pub fn printable(value: &str, max: usize) -> String {
    let mut out = String::new();
    for c in value.chars().take(max) {
        if c.is_control() {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    if value.chars().count() > max {
        out.push('…');
    }
    out
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
