//! weiops (微运营): a self-hosted platform that runs a 微商 brand company.
//!
//! One folder per business domain, each holding its types, SQL, handlers and
//! pages; the shared plumbing (database, errors, i18n, HTTP, page layout)
//! sits beside them. Pure rules live in the `weiops-core` crate.

rust_i18n::i18n!("locales", fallback = "zh-CN");

pub mod access;
pub mod agents;
pub mod audit;
pub mod auth;
pub mod brand;
pub mod cli;
pub mod config;
pub mod dashboard;
pub mod db;
pub mod error;
pub mod export;
pub mod finance;
pub mod housekeeping;
pub mod http;
pub mod i18n;
pub mod jobs;
pub mod ops;
pub mod orders;
pub mod org;
pub mod paged;
pub mod products;
pub mod rewards;
pub mod service;
pub mod settings;
pub mod shipping;
pub mod stock;
pub mod users;
pub mod web;

pub use error::{Error, Result};
