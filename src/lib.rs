//! weiops (微运营): a self-hosted platform that runs a 微商 brand company.
//!
//! Three layers, imported only downwards (docs/ARCHITECTURE.md):
//! - the bottom: state, database, errors, i18n, identity, the audit
//!   recorder, the registry, the page shell; it imports no domain;
//! - the domains, one folder each holding its types, SQL, handlers and
//!   pages, and declaring its routes, menu items and permissions;
//! - the top: `app` (every route and the middleware stack) and `cli`.
//!
//! Pure rules live in the `weiops-core` crate.

rust_i18n::i18n!("locales", fallback = "zh-CN");

pub mod access;
pub mod agents;
pub mod app;
pub mod audit;
pub mod audit_log;
pub mod auth;
pub mod brand;
pub mod cli;
pub mod cloud;
pub mod config;
pub mod cookies;
pub mod dashboard;
pub mod db;
pub mod error;
pub mod export;
pub mod finance;
pub mod housekeeping;
pub mod http;
pub mod i18n;
pub mod identity;
pub mod jobs;
pub mod ledger;
pub mod metrics;
pub mod ops;
pub mod orders;
pub mod org;
pub mod paged;
pub mod products;
pub mod registry;
pub mod rewards;
pub mod service;
pub mod settings;
pub mod shipping;
pub mod state;
pub mod stock;
pub mod users;
pub mod web;

pub use error::{Error, Result};
