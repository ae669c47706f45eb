//! The Lambda entry point: start tracing, read the configuration once, build the clients once,
//! and hand the handler to the runtime.

use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use onboarder::{Config, Onboarder};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    onboarder::logging::init();
    let config = Config::from_env().inspect_err(|e| {
        tracing::error!(error = %e, "invalid configuration; the function cannot start");
    })?;
    let sdk = onboarder::sdk::load().await;
    let onboarder = Onboarder::new(config, &sdk);
    let onboarder = &onboarder;
    // The handler's future is boxed: its type is deep (services, regions, the SDK), and a box
    // keeps the runtime's future within the compiler's layout depth limit.
    run(service_fn(move |event: LambdaEvent<Value>| {
        Box::pin(onboarder.handle(event))
    }))
    .await
}
