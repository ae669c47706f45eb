//! onboarder: enrols AWS accounts as GuardDuty members the moment they appear, and emails a
//! report of every account it could not process.
//!
//! The modules follow the path of an invocation: [`config`] (read once at cold start),
//! [`event`] (what triggered it), [`request`] (validated accounts), [`lookup`] (emails from
//! Organizations), [`guardduty`] (create and invite, per region), [`outcome`] and [`report`]
//! (what happened, rendered), [`mail`] (SES), [`response`] (the handler's bounded answer),
//! [`log_parts`] (long log records split), [`limits`] (retries, timeouts, the Lambda
//! deadline), and [`handler`], which ties them together.

pub mod account;
pub mod aws_error;
pub mod config;
pub mod event;
pub mod guardduty;
pub mod handler;
pub mod limits;
pub mod log_parts;
pub mod lookup;
pub mod mail;
pub mod outcome;
pub mod report;
pub mod request;
pub mod response;

pub use config::Config;
pub use handler::{HandlerError, Onboarder, Run};
pub use response::Response;
