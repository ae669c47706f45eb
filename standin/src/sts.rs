//! Who an access key id belongs to, asked of moto's STS with `GetCallerIdentity`.
//!
//! STS is a query-protocol service (botocore's `sts` model: `POST /`, `Action` and `Version` in a
//! form body, an XML answer holding `UserId`, `Account` and `Arn`). moto does not check
//! signatures: it reads the access key id from the `Credential=` of the `Authorization` header
//! and answers the account of the role whose `AssumeRole` issued that key (checked with moto
//! 5.2.5: a key from `AssumeRole` of `arn:aws:iam::222222222222:role/R` answers `222222222222`).
//! For a key it does not know it answers a fallback identity (moto's `sts/models.py`: user id
//! `AKIAIOSFODNN7EXAMPLE`, ARN `arn:aws:sts::<default account>:user/moto`), which the stand-in
//! takes for "not known": the administrator's key. Plain `http://` only, which is what moto
//! serves locally.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::{Caller, wire};

/// How long the stand-in waits for moto before taking the key for the administrator's.
const TIMEOUT: Duration = Duration::from_secs(3);

/// moto's fallback identity for keys it did not issue (moto's `sts/models.py`).
const MOTO_FALLBACK_USER_ID: &str = "AKIAIOSFODNN7EXAMPLE";

/// The principal named in the texts of access denials for a caller whose real principal the
/// stand-in does not know (a fixed identity, or the administrator). Made up by the stand-in.
pub(crate) fn placeholder_arn(account: &str) -> String {
    format!("arn:aws:sts::{account}:assumed-role/standin-caller/standin")
}

/// The caller an access key id belongs to: `Ok(Some)` when STS knows the key, `Ok(None)` when
/// it does not, `Err` when STS could not be asked or answered something else.
pub(crate) async fn caller_of(
    endpoint: &str,
    access_key_id: &str,
) -> Result<Option<Caller>, String> {
    let raw = tokio::time::timeout(TIMEOUT, get_caller_identity(endpoint, access_key_id))
        .await
        .map_err(|_| format!("{endpoint} did not answer within {TIMEOUT:?}"))??;
    let (head, body) = raw
        .split_once("\r\n\r\n")
        .ok_or_else(|| "not an HTTP answer".to_owned())?;
    let status = head.split(' ').nth(1).unwrap_or("");
    if status != "200" {
        return Err(format!("GetCallerIdentity answered HTTP {status}"));
    }
    let account = tag(body, "Account").ok_or("no <Account> in the answer")?;
    let arn = tag(body, "Arn").ok_or("no <Arn> in the answer")?;
    if tag(body, "UserId") == Some(MOTO_FALLBACK_USER_ID) && arn.ends_with(":user/moto") {
        return Ok(None);
    }
    Ok(Some(Caller {
        account: account.to_owned(),
        arn: arn.to_owned(),
    }))
}

async fn get_caller_identity(endpoint: &str, access_key_id: &str) -> Result<String, String> {
    let rest = endpoint
        .strip_prefix("http://")
        .ok_or_else(|| format!("{endpoint}: only http:// STS endpoints are supported"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let mut stream = TcpStream::connect(authority)
        .await
        .map_err(|e| format!("{endpoint}: {e}"))?;
    let body = "Action=GetCallerIdentity&Version=2011-06-15";
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {authority}\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential={access_key_id}/{}/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=0\r\n\
         Content-Type: application/x-www-form-urlencoded; charset=utf-8\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        wire::today(),
        body.len()
    );
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| format!("{endpoint}: {e}"))?;
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .await
        .map_err(|e| format!("{endpoint}: {e}"))?;
    Ok(String::from_utf8_lossy(&raw).into_owned())
}

/// The text of the first `<name>…</name>` element.
fn tag<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
    let open = format!("<{name}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&format!("</{name}>"))? + start;
    Some(xml[start..end].trim())
}

#[cfg(test)]
mod tests {
    use super::tag;

    #[test]
    fn elements_are_read_from_the_answer() {
        let xml = "<GetCallerIdentityResult><UserId>AROA:s</UserId><Account>222222222222</Account>\
                   <Arn>arn:aws:sts::222222222222:assumed-role/R/s</Arn></GetCallerIdentityResult>";
        assert_eq!(tag(xml, "Account"), Some("222222222222"));
        assert_eq!(
            tag(xml, "Arn"),
            Some("arn:aws:sts::222222222222:assumed-role/R/s")
        );
        assert_eq!(tag(xml, "Missing"), None);
    }
}
