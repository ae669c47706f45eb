//! The SDK's shared configuration, and the HTTPS client every SDK client uses: rustls with the
//! `ring` provider, trusting Mozilla's root certificates as compiled into the binary
//! (`webpki-root-certs`), so no certificate file is read. AWS endpoints present certificates
//! that chain to Amazon Trust Services roots, which that set includes.
//!
//! Nothing of TLS happens at cold start. The SDK's own client builds a whole TLS connector for
//! every SDK client it is given to (so that a platform store is read early) and throws it away:
//! with a client per service and region, one parse of every root per client before the first
//! event. [`https_client`] builds the SDK's client, roots and all, on the first request instead,
//! and its connectors are cached as usual (one per timeout setting).

use std::borrow::Cow;
use std::sync::OnceLock;

use aws_config::{BehaviorVersion, SdkConfig};
use aws_smithy_http_client::tls::{self, TlsContext, TrustStore};
use aws_smithy_http_client::{Builder, tls::rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use rustls_pki_types::CertificateDer;

/// The standard configuration chain (Lambda's environment: region, credentials, the
/// `AWS_ENDPOINT_URL_<SERVICE>` variables), with [`https_client`].
pub async fn load() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(https_client())
        .load()
        .await
}

/// An HTTPS (and plain HTTP, for local endpoints) client trusting the compiled-in roots only,
/// built on its first request.
pub fn https_client() -> SharedHttpClient {
    SharedHttpClient::new(OnFirstRequest(OnceLock::new()))
}

/// The SDK's hyper client, made when a request first needs a connector.
#[derive(Debug)]
struct OnFirstRequest(OnceLock<SharedHttpClient>);

impl HttpClient for OnFirstRequest {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        self.0
            .get_or_init(hyper_client)
            .http_connector(settings, components)
    }

    // `validate_base_client_config` keeps its default, which builds nothing.

    fn connector_metadata(&self) -> Option<ConnectorMetadata> {
        // What the SDK's hyper client says of itself, for the user agent.
        Some(ConnectorMetadata::new("hyper", Some(Cow::Borrowed("1.x"))))
    }
}

fn hyper_client() -> SharedHttpClient {
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
