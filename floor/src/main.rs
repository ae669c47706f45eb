//! The floor of the benchmark's init figure: the smallest `lambda_runtime` function, which
//! answers every event with the event itself. It is built with the workspace's release profile,
//! as the function is, so that `scripts/bench` can tell how much of the function's cold start is
//! the runtime's and how much is its own.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move {
        Ok::<Value, Error>(event.payload)
    }))
    .await
}
