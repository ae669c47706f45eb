//! onboarder: enrols AWS accounts as GuardDuty (and Security Hub) members the moment they
//! appear, and emails a report of every account it could not process.
//!
//! The modules follow the path of an invocation: [`config`] (read once at cold start),
//! [`event`] (what triggered it), [`request`] (validated accounts), [`org`] (emails and the
//! organisation's accounts from Organizations), [`regions`] (`all-enabled`), [`pipeline`] (the
//! flow per service and region) over [`service`] (the GuardDuty and Security Hub adapters),
//! [`member_role`] and [`acceptance`] (invitations accepted in the members), [`outcome`] and
//! [`report`] (what happened, rendered), [`advice`] (what to do about common errors), [`mail`]
//! (SES), [`response`] (the handler's bounded answer), [`log_parts`] (long log records split),
//! [`limits`], [`rate`] and [`paging`] (retries, timeouts, the Lambda deadline, request rates,
//! pages), and
//! [`handler`], which ties them together.

pub mod acceptance;
pub mod account;
pub mod advice;
pub mod aws_error;
pub mod config;
pub mod event;
pub mod handler;
pub mod limits;
pub mod log_parts;
pub mod logging;
pub mod mail;
pub mod member_role;
pub mod org;
pub mod outcome;
pub mod pace;
pub mod paging;
pub mod pipeline;
pub mod regions;
pub mod report;
pub mod request;
pub mod response;
pub mod sdk;
pub mod service;

pub use config::Config;
pub use handler::{HandlerError, Onboarder, Run};
pub use response::Response;
