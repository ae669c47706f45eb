//! What the services share on the wire: answers before they are encoded, time stamps, query
//! strings and form bodies, and opaque page tokens.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;

/// What a service's operation is asked: the request, once routed and admitted.
pub(crate) struct Ctx<'a> {
    /// The region of the credential scope.
    pub(crate) region: &'a str,
    /// The calling account.
    pub(crate) caller: &'a str,
    /// The `{DetectorId}` of a GuardDuty route, where it has one.
    pub(crate) param: Option<&'a str>,
    /// The query string's parameters; for the query protocol (STS), with the form body's.
    pub(crate) query: &'a BTreeMap<String, String>,
    pub(crate) body: &'a [u8],
}

/// An answer before it is put on the wire.
pub(crate) enum Answer {
    /// The answer's members as JSON; for the query protocol, the members of the XML result.
    Ok(Value),
    /// HTTP status, error code (`x-amzn-ErrorType`, Organizations' `__type`, STS's `Code`),
    /// GuardDuty's `__type`/`type` subtype (the other services have none), message. Each service
    /// writes the body in its own error shape.
    Error(u16, &'static str, &'static str, String),
    /// An error whose body the service wrote itself (JSON protocols): HTTP status, error code,
    /// body.
    ErrorBody(u16, &'static str, Value),
}

/// Now, in ISO 8601 with milliseconds, UTC: the form the services use for `invitedAt` and
/// `updatedAt`.
pub(crate) fn now() -> String {
    let elapsed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    format!(
        "{}.{:03}Z",
        iso8601(elapsed.as_secs()),
        elapsed.subsec_millis()
    )
}

/// `after` from now, in ISO 8601 to the second, UTC: the form of STS's `Expiration`.
pub(crate) fn expiration(after: Duration) -> String {
    let at = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        + after;
    format!("{}Z", iso8601(at.as_secs()))
}

/// `YYYY-MM-DDTHH:MM:SS` of seconds since 1970-01-01, UTC.
fn iso8601(secs: u64) -> String {
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        rest / 3600,
        rest / 60 % 60,
        rest % 60
    )
}

/// Today as `YYYYMMDD`, the date of a SigV4 credential scope.
pub(crate) fn today() -> String {
    now()[..10].replace('-', "")
}

/// Year, month, day of a count of days since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// The parameters of a query string, percent-decoded.
pub(crate) fn query(raw: Option<&str>) -> BTreeMap<String, String> {
    raw.unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = |c: u8| (c as char).to_digit(16);
                match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Text as XML character data: `&`, `<`, `>`, `"` and `'` escaped, and characters XML 1.0 does
/// not allow (control characters, for example, which a refused value may carry) replaced by
/// U+FFFD, so that the answer stays a document the SDK can read.
pub(crate) fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' | ' '..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'.. => {
                out.push(c)
            }
            _ => out.push('\u{FFFD}'),
        }
    }
    out
}

/// The members of a JSON object as XML elements, the form of the query protocol's results:
/// `{"A": {"B": "x"}, "N": 1}` is `<A><B>x</B></A><N>1</N>`; a list's items are `<member>`s.
pub(crate) fn xml_members(value: &Value) -> String {
    match value {
        Value::Object(members) => members
            .iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(name, v)| format!("<{name}>{}</{name}>", xml_members(v)))
            .collect(),
        Value::Array(items) => items
            .iter()
            .map(|v| format!("<member>{}</member>", xml_members(v)))
            .collect(),
        Value::String(text) => xml_escape(text),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// A page token: which list it continues and the key of the last item handed out, in hex so it
/// travels in a query string untouched. Clients must treat it as opaque.
pub(crate) fn token(list: &str, last_key: &str) -> String {
    format!("{list}\n{last_key}")
        .bytes()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The last key a token of `list` names; `None` for a token that is not one of `list`'s.
pub(crate) fn token_key(list: &str, token: &str) -> Option<String> {
    if !token.len().is_multiple_of(2) || !token.is_ascii() {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..token.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&token[i..i + 2], 16).ok())
        .collect();
    let text = String::from_utf8(bytes?).ok()?;
    let (name, key) = text.split_once('\n')?;
    (name == list).then(|| key.to_owned())
}

/// One page of `items` (sorted by key): the items after the token's key, at most `max`, and the
/// token of the next page if more remain. `Err` for a token that is not one of `list`'s.
/// One page of the entries of `map` that `keep` keeps, in key order, after the key `next_token`
/// names (as [`page`] does): only the page's entries are handed to `show`, so a page of a long
/// list (a sweep of an organisation of 50,000 members) costs the page, not the list.
pub(crate) fn page_of<R, T>(
    list: &str,
    map: Option<&BTreeMap<String, R>>,
    next_token: Option<&str>,
    max: usize,
    keep: impl Fn(&R) -> bool,
    show: impl Fn(&R) -> T,
) -> Result<(Vec<T>, Option<String>), ()> {
    let after = match next_token.filter(|t| !t.is_empty()) {
        Some(t) => Some(token_key(list, t).ok_or(())?),
        None => None,
    };
    let Some(map) = map else {
        return Ok((Vec::new(), None));
    };
    let range = match &after {
        Some(a) => {
            map.range::<String, _>((std::ops::Bound::Excluded(a), std::ops::Bound::Unbounded))
        }
        None => map.range::<String, _>(..),
    };
    let mut kept = range.filter(|(_, r)| keep(r));
    let page: Vec<(&String, &R)> = kept.by_ref().take(max).collect();
    let next = match (page.last(), kept.next()) {
        (Some((last, _)), Some(_)) => Some(token(list, last)),
        _ => None,
    };
    Ok((page.into_iter().map(|(_, r)| show(r)).collect(), next))
}

pub(crate) fn page<T>(
    list: &str,
    items: Vec<(String, T)>,
    next_token: Option<&str>,
    max: usize,
) -> Result<(Vec<T>, Option<String>), ()> {
    let after = match next_token.filter(|t| !t.is_empty()) {
        Some(t) => Some(token_key(list, t).ok_or(())?),
        None => None,
    };
    let mut rest: Vec<(String, T)> = items
        .into_iter()
        .filter(|(k, _)| after.as_ref().is_none_or(|a| k > a))
        .collect();
    let more = rest.len() > max;
    rest.truncate(max);
    let next = if more {
        rest.last().map(|(k, _)| token(list, k))
    } else {
        None
    };
    Ok((rest.into_iter().map(|(_, v)| v).collect(), next))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_civil() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_858), (2024, 5, 15));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }

    #[test]
    fn xml_is_escaped_and_nested() {
        assert_eq!(
            xml_escape("a<b & 'c' \"d\" \u{1}é"),
            "a&lt;b &amp; &apos;c&apos; &quot;d&quot; \u{FFFD}é"
        );
        let v = serde_json::json!({"A": {"B": "x<"}, "N": 12, "L": ["p", "q"], "Z": null});
        assert_eq!(
            xml_members(&v),
            "<A><B>x&lt;</B></A><L><member>p</member><member>q</member></L><N>12</N>"
        );
    }

    #[test]
    fn times_are_iso8601() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00");
        assert_eq!(iso8601(1_704_067_200 + 3_723), "2024-01-01T01:02:03");
        let e = expiration(Duration::from_secs(3600));
        assert_eq!((e.len(), &e[10..11], &e[19..]), (20, "T", "Z"), "{e}");
    }

    #[test]
    fn query_strings_are_decoded() {
        let q = query(Some("maxResults=5&nextToken=a%2Fb+c&onlyAssociated"));
        assert_eq!(q["maxResults"], "5");
        assert_eq!(q["nextToken"], "a/b c");
        assert_eq!(q["onlyAssociated"], "");
    }

    #[test]
    fn pages_continue_after_the_last_key_and_refuse_foreign_tokens() {
        let items = |n: usize| (0..n).map(|i| (format!("{i:03}"), i)).collect::<Vec<_>>();
        let (first, next) = page("m", items(5), None, 2).unwrap();
        assert_eq!(first, [0, 1]);
        let (second, next) = page("m", items(5), next.as_deref(), 2).unwrap();
        assert_eq!(second, [2, 3]);
        let (last, next) = page("m", items(5), next.as_deref(), 2).unwrap();
        assert_eq!((last, next), (vec![4], None));
        let foreign = token("other", "001");
        assert!(page("m", items(5), Some(&foreign), 2).is_err());
        assert!(page("m", items(5), Some("zz"), 2).is_err());
    }
}
