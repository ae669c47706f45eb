//! The SDK's shared configuration, and the HTTPS client every SDK client uses: rustls with the
//! `ring` provider, trusting Mozilla's root certificates as compiled into the binary
//! (`webpki-root-certs`), so a cold start reads no certificate file. AWS endpoints present
//! certificates that chain to Amazon Trust Services roots, which that set includes.
//!
//! The roots are the only certificate work, and it happens once per connector the SDK builds.
//! Measured against loading the platform's store (`scripts/bench`, "init").

use aws_config::{BehaviorVersion, SdkConfig};
use aws_smithy_http_client::tls::{self, TlsContext, TrustStore};
use aws_smithy_http_client::{Builder, tls::rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use rustls_pki_types::CertificateDer;

/// The standard configuration chain (Lambda's environment: region, credentials, the
/// `AWS_ENDPOINT_URL_<SERVICE>` variables), with [`https_client`].
pub async fn load() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(https_client())
        .load()
        .await
}

/// An HTTPS (and plain HTTP, for local endpoints) client trusting the compiled-in roots only.
pub fn https_client() -> SharedHttpClient {
    let mut roots = TrustStore::empty().with_native_roots(false);
    for certificate in webpki_root_certs::TLS_SERVER_ROOT_CERTS {
        roots.add_pem_certificate(pem(certificate));
    }
    let context = TlsContext::builder()
        .with_trust_store(roots)
        .build()
        .expect("a TLS context with a trust store always builds");
    Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .tls_context(context)
        .build_https()
}

/// The PEM form of a DER certificate, as the SDK's trust store takes it.
fn pem(certificate: &CertificateDer<'_>) -> Vec<u8> {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let der: &[u8] = certificate.as_ref();
    let mut out = Vec::with_capacity(der.len() * 4 / 3 + der.len() / 48 + 64);
    out.extend_from_slice(b"-----BEGIN CERTIFICATE-----\n");
    for (i, chunk) in der.chunks(3).enumerate() {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * k)) & 63) as usize]);
            } else {
                out.push(b'=');
            }
        }
        // 64 characters a line: 16 groups of three bytes.
        if (i + 1) % 16 == 0 {
            out.push(b'\n');
        }
    }
    if !out.ends_with(b"\n") {
        out.push(b'\n');
    }
    out.extend_from_slice(b"-----END CERTIFICATE-----\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls_pki_types::pem::PemObject;

    #[test]
    fn every_root_reads_back_from_its_pem_byte_for_byte() {
        let roots = webpki_root_certs::TLS_SERVER_ROOT_CERTS;
        assert!(roots.len() > 100, "Mozilla's set has well over 100 roots");
        for root in roots {
            let text = pem(root);
            let back: Vec<_> = CertificateDer::pem_slice_iter(&text)
                .collect::<Result<_, _>>()
                .expect("valid PEM");
            assert_eq!(back.len(), 1);
            assert_eq!(back[0].as_ref(), root.as_ref());
        }
    }

    #[test]
    fn padding_follows_the_length() {
        for (der, body) in [
            (&b"M"[..], "TQ=="),
            (&b"Ma"[..], "TWE="),
            (&b"Man"[..], "TWFu"),
        ] {
            let text = String::from_utf8(pem(&CertificateDer::from(der))).expect("ASCII");
            assert_eq!(text.lines().nth(1), Some(body), "{der:?}");
        }
    }

    #[test]
    fn amazon_trust_services_roots_are_trusted() {
        // AWS endpoints chain to these (Amazon Root CA 1 to 4); without them no call succeeds.
        let subjects: Vec<String> = webpki_root_certs::TLS_SERVER_ROOT_CERTS
            .iter()
            .map(|c| String::from_utf8_lossy(c.as_ref()).into_owned())
            .collect();
        for name in [
            "Amazon Root CA 1",
            "Amazon Root CA 2",
            "Amazon Root CA 3",
            "Amazon Root CA 4",
        ] {
            assert!(
                subjects.iter().any(|s| s.contains(name)),
                "{name} is missing"
            );
        }
    }
}
