//! Checked account values: a 12-digit account id and a plausible email address. Code that holds
//! one of these types does not check it again.

use std::fmt;

use serde::Serialize;

use crate::shared::Shared;

/// An AWS account id: exactly 12 ASCII digits.
/// Its text is [`Shared`]: every row of the account points at one copy.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct AccountId(Shared);

impl AccountId {
    pub fn parse(value: &str) -> Option<AccountId> {
        (value.len() == 12 && value.bytes().all(|b| b.is_ascii_digit()))
            .then(|| AccountId(Shared::from(value)))
    }

    /// The account of an ARN such as `arn:aws:lambda:us-east-1:123456789012:function:name`.
    pub fn from_arn(arn: &str) -> Option<AccountId> {
        let mut parts = arn.split(':');
        (parts.next() == Some("arn"))
            .then(|| parts.nth(3))
            .flatten()
            .and_then(AccountId::parse)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id's text, shared: a pointer, not a copy.
    pub fn shared(&self) -> Shared {
        self.0.clone()
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An account id as a number: 12 digits fit a `u64`, so a map of a large organisation's members
/// (a sweep's `ListMembers`: 50,000 in each of 34 service-regions) keys on 8 bytes, not on a
/// string of its own per member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccountNumber(u64);

impl std::fmt::Display for AccountNumber {
    /// The 12-digit id, leading zeros kept.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:012}", self.0)
    }
}

impl AccountNumber {
    /// The number of a 12-digit id; `None` for anything else.
    pub fn of(id: &str) -> Option<AccountNumber> {
        (id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit()))
            .then(|| id.parse().ok().map(AccountNumber))
            .flatten()
    }
}

/// An email address that GuardDuty's `CreateMembers` can take: 6–64 characters, one `@` with
/// text on both sides, a dot in the domain, and no spaces or control characters.
///
/// Its `Debug` form is masked so that an address never reaches a log by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub const MIN_LEN: usize = 6;
    pub const MAX_LEN: usize = 64;

    pub fn parse(value: &str) -> Option<Email> {
        let len = value.chars().count();
        if !(Self::MIN_LEN..=Self::MAX_LEN).contains(&len) {
            return None;
        }
        if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return None;
        }
        let (local, domain) = value.split_once('@')?;
        let domain_ok = !domain.contains('@')
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.');
        (!local.is_empty() && domain_ok).then(|| Email(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Email(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_ids_are_exactly_twelve_digits() {
        assert!(AccountId::parse("012345678901").is_some());
        for bad in [
            "",
            "12345678901",
            "1234567890123",
            "12345678901a",
            " 12345678901",
            "１２３４５６７８９０１２",
        ] {
            assert!(AccountId::parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn the_account_comes_from_a_function_arn() {
        let arn = "arn:aws:lambda:eu-west-1:123456789012:function:onboarder";
        assert_eq!(AccountId::from_arn(arn).unwrap().as_str(), "123456789012");
        assert_eq!(
            AccountId::from_arn("arn:aws-us-gov:lambda:us-gov-west-1:123456789012:function:f")
                .unwrap()
                .as_str(),
            "123456789012"
        );
        for bad in [
            "",
            "arn:aws:lambda",
            "not-an-arn:aws:lambda:r:123456789012:function:f",
            "arn:aws:lambda:r:1234:function:f",
        ] {
            assert!(AccountId::from_arn(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn emails_must_be_plausible() {
        for good in ["a@b.co", "first.last+tag@sub.example.com"] {
            assert!(Email::parse(good).is_some(), "{good}");
        }
        let long = format!("{}@example.com", "a".repeat(60));
        for bad in [
            "",
            "a@b.c",
            "plainaddress",
            "@example.com",
            "user@",
            "a@@example.com",
            "a b@example.com",
            "user@example",
            "user@.example.com",
            "user@example.com.",
            "a@b@example.com",
            long.as_str(),
            "bad\n@example.com",
        ] {
            assert!(Email::parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn an_email_never_shows_in_debug_output() {
        let email = Email::parse("secret.owner@example.com").unwrap();
        assert!(!format!("{email:?}").contains("secret"));
    }
}
