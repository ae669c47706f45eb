//! Splits a long text into parts for the log: CloudWatch Logs keeps at most 256 KB of one log
//! event, so a long report is logged as several records, each saying which part it is.

/// The most bytes of text in one part. A log record escapes its text as JSON, which at worst
/// doubles it (every character a quote or a backslash), and adds its own fields: 100 KB of
/// text stays under 256 KB.
pub const MAX_PART_BYTES: usize = 100_000;

/// Splits `text` into parts of at most `max` bytes (at least 4), at line ends where it can and
/// at character boundaries where a line is longer. Joined, the parts are the text.
pub fn split(text: &str, max: usize) -> Vec<&str> {
    let max = max.max(4);
    let mut parts = Vec::new();
    let mut rest = text;
    while rest.len() > max {
        let mut cut = max;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        if let Some(line_end) = rest[..cut].rfind('\n') {
            cut = line_end + 1;
        }
        parts.push(&rest[..cut]);
        rest = &rest[cut..];
    }
    if !rest.is_empty() || parts.is_empty() {
        parts.push(rest);
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_bounded_cut_at_line_ends_and_lose_nothing() {
        let text: String = (0..10_000)
            .map(|i| format!("UNPROCESSED account={i:012} region=eu-west-1 step=invite\n"))
            .collect();
        let parts = split(&text, MAX_PART_BYTES);
        assert!(parts.len() > 1);
        assert!(parts.iter().all(|p| p.len() <= MAX_PART_BYTES));
        assert!(parts.iter().all(|p| p.ends_with('\n')), "whole lines");
        assert_eq!(parts.concat(), text);
    }

    #[test]
    fn a_line_longer_than_a_part_is_cut_at_character_boundaries() {
        let text = "é".repeat(1_000) + "\nend";
        let parts = split(&text, 101);
        assert!(parts.iter().all(|p| p.len() <= 101));
        assert_eq!(parts.concat(), text);
        assert_eq!(split("", 10), [""]);
        assert_eq!(split("short", 10), ["short"]);
    }
}
