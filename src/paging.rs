//! Following `NextToken`s through the pages of a listing.

/// The token for the next page, or `None` at the end. An empty token ends the listing (some
/// services send one on the last page), and so does the token just used, which would otherwise
/// ask for the same page forever.
pub fn next_token(used: Option<&str>, given: Option<&str>) -> Option<String> {
    match given {
        Some(next) if !next.is_empty() && used != Some(next) => Some(next.to_owned()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listing_ends_on_no_token_an_empty_one_or_the_same_one() {
        assert_eq!(next_token(None, Some("a")), Some("a".to_owned()));
        assert_eq!(next_token(Some("a"), Some("b")), Some("b".to_owned()));
        assert_eq!(next_token(Some("a"), None), None);
        assert_eq!(next_token(Some("a"), Some("")), None);
        assert_eq!(next_token(Some("a"), Some("a")), None);
    }
}
