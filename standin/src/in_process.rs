//! The stand-in served in-process: an HTTP client for the SDK (`HttpClient` of
//! `aws-smithy-runtime-api`) that hands each request to the same code as the HTTP server
//! ([`http::answer`]) instead of a socket. Signing, serialisation, retries and timeouts stay the
//! SDK's own; only the transport is left out.

use std::fmt;
use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use hyper::body::Bytes;
use hyper::{Method, Uri};

use crate::State;
use crate::http::{self, Received, Reply};

/// The client and its connector at once: both only hand requests to the state.
#[derive(Clone)]
pub(crate) struct InProcess {
    state: Arc<Mutex<State>>,
    /// The only scheme and authority it answers, as `http://host[:port]`.
    endpoint: String,
}

impl InProcess {
    pub(crate) fn new(state: Arc<Mutex<State>>, endpoint: String) -> InProcess {
        InProcess { state, endpoint }
    }

    /// The request as the HTTP server would read it, or why it cannot be answered.
    fn receive(&self, request: &HttpRequest) -> Result<Received, ConnectorError> {
        let refuse = |why: String| ConnectorError::user(why.into());
        let uri: Uri = request
            .uri()
            .parse()
            .map_err(|e| refuse(format!("{}: {e}", request.uri())))?;
        let origin = match (uri.scheme_str(), uri.authority()) {
            (Some(scheme), Some(authority)) => format!("{scheme}://{authority}"),
            _ => String::new(),
        };
        if origin != self.endpoint.trim_end_matches('/') {
            return Err(refuse(format!(
                "the in-process stand-in answers {} only, and this request went to {}: give the SDK the stand-in's endpoint",
                self.endpoint,
                request.uri()
            )));
        }
        let method = Method::from_bytes(request.method().as_bytes())
            .map_err(|e| refuse(format!("{}: {e}", request.method())))?;
        // The stand-in's requests are small JSON documents and forms, held in memory by the SDK.
        let body = request.body().bytes().ok_or_else(|| {
            refuse("the in-process stand-in takes only bodies held in memory".to_owned())
        })?;
        Ok(Received {
            method,
            path: uri.path().to_owned(),
            query: crate::wire::query(uri.query()),
            authorization: request.headers().get("authorization").map(str::to_owned),
            target: request.headers().get("x-amz-target").map(str::to_owned),
            body: Bytes::copy_from_slice(body),
        })
    }
}

impl fmt::Debug for InProcess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InProcess")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

impl HttpClient for InProcess {
    fn http_connector(
        &self,
        _settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(self.clone())
    }
}

impl HttpConnector for InProcess {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let received = self.receive(&request);
        let state = self.state.clone();
        HttpConnectorFuture::new(async move {
            match http::answer(&state, received?).await {
                Some(reply) => response(reply),
                // A hang: never answer; the SDK's timeouts end the call.
                None => std::future::pending().await,
            }
        })
    }
}

/// The SDK's form of an answer.
fn response(reply: Reply) -> Result<HttpResponse, ConnectorError> {
    let bad = |what: String| ConnectorError::other(what.into(), None);
    let status = StatusCode::try_from(reply.status)
        .map_err(|e| bad(format!("status {}: {e}", reply.status)))?;
    let mut response = HttpResponse::new(status, SdkBody::from(reply.body.clone()));
    for (name, value) in reply.headers() {
        response
            .headers_mut()
            .try_insert(name, value)
            .map_err(|e| bad(format!("header {name}: {e}")))?;
    }
    Ok(response)
}
