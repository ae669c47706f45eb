//! Untrusted text made safe for the report: one printable line, and HTML-escaped.

use crate::text::printable;

/// One line's worth of untrusted text: control characters escaped, length bounded.
pub fn one_line(value: &str) -> String {
    printable(value, 2_000)
}

/// [`one_line`], then every character HTML gives meaning to escaped.
pub fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in one_line(value).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// An account's name for a narrow column: at most `max` characters.
pub fn short(value: &str, max: usize) -> String {
    printable(value, max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_and_control_characters_are_neutralised() {
        assert_eq!(
            escape("<a href='x'>\"&\"</a>\nnext"),
            "&lt;a href=&#39;x&#39;&gt;&quot;&amp;&quot;&lt;/a&gt;\\nnext"
        );
        assert_eq!(one_line("a\tb\r\nc"), "a\\tb\\r\\nc");
        assert_eq!(short("abcdef", 3), "abc…");
    }
}
