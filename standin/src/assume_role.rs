//! STS `AssumeRole` served by the stand-in ([`crate::Standin::serve_sts`]; awsQuery: `POST /`
//! with a form body, an XML answer that [`crate::http`] writes from the JSON made here).
//!
//! Each call issues a fresh `ASIA…` access key id and remembers it as the role's account (the
//! `identities` map), so that member calls signed with it are that account's, with the
//! assumed-role ARN in the texts of access denials. No trust policy is checked: any caller may
//! assume any role.
//!
//! Input is checked against the model's constraints of `AssumeRoleRequest`: the required
//! members, the length and pattern of each string member and the range of each integer member at
//! the top level, and the number of items of the top-level lists (not the members inside them).
//! A violation answers the common error `ValidationError` (HTTP 400) in Coral's words, as STS
//! does: "1 validation error detected: Value 'a/b' at 'roleSessionName' failed to satisfy
//! constraint: Member must satisfy regular expression pattern: [\w+=,.@-]*"
//! (zalando-stups/aws-credentials-service#7; getmoto/moto#9218 for the length form). `Policy` is
//! also held to the documented 2,048 characters ("The plaintext that you use for both inline and
//! managed session policies can't exceed 2,048 characters"; the model's
//! `unrestrictedSessionPolicyDocumentType` has no maximum): *inferred* to be the same
//! `ValidationError`, as moto answers for `GetFederationToken`. A policy that is not a JSON object
//! answers the modelled `MalformedPolicyDocument` (ansible-collections/amazon.aws#2778 shows
//! `AssumeRole` answering it for a policy that is not JSON); the text is the stand-in's.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde_json::{Value, json};

use crate::wire::{self, Answer, Ctx};
use crate::{Call, Caller, State};

/// The documented limit of a session policy's plaintext.
const MAX_POLICY: usize = 2048;
/// `DurationSeconds` when none is given (the model's documentation: 3600).
const DEFAULT_DURATION: u64 = 3600;

/// A string member of `AssumeRoleRequest` with the model's limits and pattern.
struct Text {
    member: &'static str,
    min: usize,
    max: Option<usize>,
    pattern: &'static str,
    allowed: fn(char) -> bool,
}

/// `\w` as STS reads it: ASCII letters, digits and `_`.
fn word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// `arnType`: `[\u0009\u000A\u000D\u0020-\u007E\u0085\u00A0-\uD7FF\uE000-\uFFFD\u10000-\u10FFFF]+`.
fn arn_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | ' '..='~' | '\u{85}' | '\u{A0}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// `unrestrictedSessionPolicyDocumentType`: `[\u0009\u000A\u000D\u0020-\u00FF]+`.
fn policy_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | ' '..='\u{FF}')
}

/// The string members at the top level of `AssumeRoleRequest`, as the model constrains them.
const TEXTS: &[Text] = &[
    Text {
        member: "RoleArn",
        min: 20,
        max: Some(2048),
        pattern: r"[\u0009\u000A\u000D\u0020-\u007E\u0085\u00A0-\uD7FF\uE000-\uFFFD\u10000-\u10FFFF]+",
        allowed: arn_char,
    },
    Text {
        member: "RoleSessionName",
        min: 2,
        max: Some(64),
        pattern: r"[\w+=,.@-]*",
        allowed: |c| word(c) || "+=,.@-".contains(c),
    },
    Text {
        member: "Policy",
        min: 1,
        max: None,
        pattern: r"[\u0009\u000A\u000D\u0020-\u00FF]+",
        allowed: policy_char,
    },
    Text {
        member: "ExternalId",
        min: 2,
        max: Some(1224),
        pattern: r"[\w+=,.@:\/-]*",
        allowed: |c| word(c) || "+=,.@:/-".contains(c),
    },
    Text {
        member: "SerialNumber",
        min: 9,
        max: Some(256),
        pattern: r"[\w+=/:,.@-]*",
        allowed: |c| word(c) || "+=/:,.@-".contains(c),
    },
    Text {
        member: "TokenCode",
        min: 6,
        max: Some(6),
        pattern: r"[\d]*",
        allowed: |c| c.is_ascii_digit(),
    },
    Text {
        member: "SourceIdentity",
        min: 2,
        max: Some(64),
        pattern: r"[\w+=,.@-]*",
        allowed: |c| word(c) || "+=,.@-".contains(c),
    },
];

/// The integer members at the top level, with the model's range.
const INTEGERS: &[(&str, i64, i64)] = &[
    ("DurationSeconds", 900, 43_200),
    ("MinimumSessionTokenSize", 0, 4096),
];

/// The list members at the top level, with the model's least and most items.
const LISTS: &[(&str, usize, Option<usize>)] = &[
    ("PolicyArns", 0, None),
    ("Tags", 0, Some(50)),
    ("TransitiveTagKeys", 0, Some(50)),
    ("ProvidedContexts", 1, Some(5)),
];

/// The name of a member in Coral's messages: `roleSessionName`.
fn at(member: &str) -> String {
    let mut chars = member.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_ascii_lowercase().to_string() + chars.as_str()
    })
}

/// How many items a list member carries in a form: `Tags.member.1.Key` and `Tags.member.2.Key`
/// are two; `Tags=` alone is an empty list; `None` when the member is absent.
fn list_len(params: &BTreeMap<String, String>, member: &str) -> Option<usize> {
    let prefix = format!("{member}.member.");
    let items: BTreeSet<&str> = params
        .keys()
        .filter_map(|k| k.strip_prefix(&prefix))
        .map(|rest| rest.split('.').next().unwrap_or(rest))
        .collect();
    if items.is_empty() {
        params.contains_key(member).then_some(0)
    } else {
        Some(items.len())
    }
}

/// Every constraint of the model the request breaks, in Coral's words.
fn violations(params: &BTreeMap<String, String>) -> Vec<String> {
    let mut out = Vec::new();
    for required in ["RoleArn", "RoleSessionName"] {
        if !params.contains_key(required) {
            out.push(format!(
                "Value null at '{}' failed to satisfy constraint: Member must not be null",
                at(required)
            ));
        }
    }
    for text in TEXTS {
        let Some(value) = params.get(text.member) else {
            continue;
        };
        let len = value.chars().count();
        let fail = |constraint: String| {
            format!(
                "Value '{value}' at '{}' failed to satisfy constraint: Member must {constraint}",
                at(text.member)
            )
        };
        if len < text.min {
            out.push(fail(format!(
                "have length greater than or equal to {}",
                text.min
            )));
        }
        let max = match text.member {
            "Policy" => Some(MAX_POLICY),
            _ => text.max,
        };
        if let Some(max) = max.filter(|max| len > *max) {
            out.push(fail(format!("have length less than or equal to {max}")));
        }
        if !value.chars().all(text.allowed) {
            out.push(fail(format!(
                "satisfy regular expression pattern: {}",
                text.pattern
            )));
        }
    }
    for &(member, min, max) in INTEGERS {
        let Some(value) = params.get(member) else {
            continue;
        };
        let fail = |constraint: String| {
            format!(
                "Value '{value}' at '{}' failed to satisfy constraint: Member must {constraint}",
                at(member)
            )
        };
        match value.parse::<i64>() {
            Ok(n) if n < min => {
                out.push(fail(format!("have value greater than or equal to {min}")))
            }
            Ok(n) if n > max => out.push(fail(format!("have value less than or equal to {max}"))),
            Ok(_) => {}
            Err(_) => out.push(fail("be an integer".to_owned())),
        }
    }
    for &(member, min, max) in LISTS {
        let Some(len) = list_len(params, member) else {
            continue;
        };
        let fail = |constraint: String| {
            format!(
                "Value with {len} items at '{}' failed to satisfy constraint: Member must {constraint}",
                at(member)
            )
        };
        if len < min {
            out.push(fail(format!("have length greater than or equal to {min}")));
        }
        if let Some(max) = max.filter(|max| len > *max) {
            out.push(fail(format!("have length less than or equal to {max}")));
        }
    }
    out
}

/// 400 `ValidationError`, the common error of the query protocol for a request that breaks the
/// model's constraints.
fn validation_error(message: String) -> Answer {
    Answer::Error(400, "ValidationError", "", message)
}

/// The account and the role name of a role's ARN, `arn:PARTITION:iam::ACCOUNT:role/PATH/NAME`.
fn role_of(arn: &str) -> Option<(&str, &str)> {
    let rest = arn.strip_prefix("arn:")?;
    let (partition, rest) = rest.split_once(':')?;
    let rest = rest.strip_prefix("iam::")?;
    let (account, resource) = rest.split_once(':')?;
    let name = resource.strip_prefix("role/")?.rsplit('/').next()?;
    let account_ok = account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit());
    (!partition.is_empty() && account_ok && !name.is_empty()).then_some((account, name))
}

/// The account a request's `RoleArn` names, for the record of a call refused before the service
/// read it.
pub(crate) fn account_carried(params: &BTreeMap<String, String>) -> Option<String> {
    params
        .get("RoleArn")
        .and_then(|arn| role_of(arn))
        .map(|(account, _)| account.to_owned())
}

/// A stable 64-bit hash (FNV-1a), so that a role keeps its `AROA…` id from call to call.
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Answers `AssumeRole`; its parameters are the form body's and the query string's
/// (`ctx.query`).
pub(crate) fn answer(state: &mut State, ctx: &Ctx, call: &mut Call) -> Answer {
    let params = ctx.query;
    call.account_ids = account_carried(params).into_iter().collect();
    let broken = violations(params);
    if !broken.is_empty() {
        let count = broken.len();
        let plural = if count == 1 { "" } else { "s" };
        return validation_error(format!(
            "{count} validation error{plural} detected: {}",
            broken.join("; ")
        ));
    }
    let (Some(arn), Some(session)) = (params.get("RoleArn"), params.get("RoleSessionName")) else {
        return validation_error("RoleArn and RoleSessionName are required".to_owned());
    };
    let Some((account, role)) = role_of(arn) else {
        return validation_error(format!(
            "RoleArn '{arn}' is not the ARN of a role: the stand-in takes arn:aws:iam::ACCOUNT:role/NAME"
        ));
    };
    let policy = params.get("Policy");
    if let Some(policy) = policy
        && !serde_json::from_str::<Value>(policy).is_ok_and(|v| v.is_object())
    {
        return Answer::Error(
            400,
            "MalformedPolicyDocument",
            "",
            "The policy is not a JSON object.".to_owned(),
        );
    }
    let duration = params
        .get("DurationSeconds")
        .and_then(|d| d.parse().ok())
        .unwrap_or(DEFAULT_DURATION);

    let key = state.fresh_id();
    let access_key_id = format!("ASIA{}", key[..16].to_ascii_uppercase());
    let secret = format!("{}{}", state.fresh_id(), &state.fresh_id()[..8]);
    let token = format!("standin-session-token-{}", state.fresh_id());
    let role_id = format!("AROA{:017X}", u128::from(fnv1a(arn)) << 4);
    let assumed_arn = format!("arn:aws:sts::{account}:assumed-role/{role}/{session}");
    state.identities.insert(
        access_key_id.clone(),
        Some(Caller {
            account: account.to_owned(),
            arn: assumed_arn.clone(),
        }),
    );
    state.keys_issued += 1;
    // A made-up share of the documented 2,048 characters the policy takes, rounded up.
    let packed = policy.map_or(0, |p| (p.chars().count() * 100).div_ceil(MAX_POLICY));
    let mut out = json!({
        "Credentials": {
            "AccessKeyId": access_key_id,
            "SecretAccessKey": secret,
            "SessionToken": token,
            "Expiration": wire::expiration(Duration::from_secs(duration)),
        },
        "AssumedRoleUser": {
            "AssumedRoleId": format!("{role_id}:{session}"),
            "Arn": assumed_arn,
        },
        "PackedPolicySize": packed,
    });
    if let Some(source) = params.get("SourceIdentity") {
        out["SourceIdentity"] = json!(source);
    }
    Answer::Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    const ROLE: &str = "arn:aws:iam::222222222222:role/path/Onboarder";

    #[test]
    fn role_arns_name_the_account_and_the_role() {
        assert_eq!(role_of(ROLE), Some(("222222222222", "Onboarder")));
        assert_eq!(
            role_of("arn:aws-cn:iam::222222222222:role/R"),
            Some(("222222222222", "R"))
        );
        for bad in [
            "arn:aws:iam::22222222222:role/R",
            "arn:aws:iam::222222222222:user/R",
            "arn:aws:sts::222222222222:role/R",
            "arn:aws:iam::222222222222:role/",
            "not an arn at all, clearly",
        ] {
            assert_eq!(role_of(bad), None, "{bad}");
        }
    }

    #[test]
    fn violations_are_worded_as_coral_words_them() {
        assert!(violations(&params(&[("RoleArn", ROLE), ("RoleSessionName", "s1")])).is_empty());
        assert_eq!(
            violations(&params(&[("RoleArn", ROLE), ("RoleSessionName", "a/b")])),
            [
                r"Value 'a/b' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]*"
            ]
        );
        assert_eq!(
            violations(&params(&[("RoleSessionName", "ss")])),
            ["Value null at 'roleArn' failed to satisfy constraint: Member must not be null"]
        );
        let long = "p".repeat(65);
        assert_eq!(
            violations(&params(&[("RoleArn", ROLE), ("RoleSessionName", &long)])),
            [format!(
                "Value '{long}' at 'roleSessionName' failed to satisfy constraint: Member must have length less than or equal to 64"
            )]
        );
        for (duration, constraint) in [
            ("899", "have value greater than or equal to 900"),
            ("43201", "have value less than or equal to 43200"),
            ("soon", "be an integer"),
        ] {
            let v = violations(&params(&[
                ("RoleArn", ROLE),
                ("RoleSessionName", "ss"),
                ("DurationSeconds", duration),
            ]));
            assert_eq!(v.len(), 1, "{duration}: {v:?}");
            assert!(v[0].ends_with(constraint), "{duration}: {v:?}");
        }
        let policy = format!("{{\"a\":\"{}\"}}", "x".repeat(MAX_POLICY));
        let v = violations(&params(&[
            ("RoleArn", ROLE),
            ("RoleSessionName", "ss"),
            ("Policy", &policy),
        ]));
        assert!(
            v[0].ends_with("Member must have length less than or equal to 2048"),
            "{v:?}"
        );
    }

    #[test]
    fn lists_are_counted_by_their_item_numbers() {
        let p = params(&[
            ("Tags.member.1.Key", "k"),
            ("Tags.member.1.Value", "v"),
            ("Tags.member.2.Key", "k2"),
            ("ProvidedContexts", ""),
        ]);
        assert_eq!(list_len(&p, "Tags"), Some(2));
        assert_eq!(list_len(&p, "ProvidedContexts"), Some(0));
        assert_eq!(list_len(&p, "PolicyArns"), None);
    }
}
