//! onboarder: enrols AWS accounts as GuardDuty (and Security Hub) members the moment they
//! appear, and emails a report of every account it could not process.
//!
//! The modules follow the path of an invocation: [`config`] (read once at cold start),
//! [`event`] (what triggered it), [`request`] (validated accounts), [`account`] (checked ids and
//! emails), [`org`] (emails and the organisation's accounts from Organizations), [`regions`]
//! (`all-enabled`), [`pipeline`] (the flow: every service in every region, then the invitations
//! accepted in the members) over [`service`] (the GuardDuty and Security Hub adapters, both
//! sides) and [`member_role`] (STS), [`outcome`] (what happened, in the domain's types),
//! [`report`] (rendered), [`advice`] (what to do about common errors), [`mail`] (SES),
//! [`response`] (the handler's bounded answer), [`metrics`] (the run's counts for CloudWatch),
//! [`log_parts`] (long log records split),
//! [`aws_error`] (a failed call, typed), [`limits`] and [`pace`] (retries, timeouts, the Lambda
//! deadline, request rates), [`text`] (untrusted text made safe to show), [`sdk`],
//! [`logging`] and [`clock`] (time stamps), and [`handler`], which wires them together.
//!
//! No module imports another that imports it back (`scripts/check_module_cycles.py`).

pub mod account;
pub mod advice;
pub mod aws_error;
pub mod clock;
pub mod config;
pub mod delivery;
pub mod event;
pub mod handler;
pub mod limits;
pub mod log_parts;
pub mod logging;
pub mod mail;
pub mod member_role;
pub mod metrics;
pub mod org;
pub mod outcome;
pub mod pace;
pub mod pipeline;
pub mod regions;
pub mod report;
pub mod request;
pub mod response;
pub mod sdk;
pub mod service;
pub mod shared;
pub mod text;

pub use config::Config;
pub use handler::{Answer, HandlerError, Onboarder, Run};
pub use response::Response;
