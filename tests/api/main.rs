//! Every HTTP test in one binary: fewer links on 2 cores. Each test starts
//! its own weiops on a fresh database (see tests/common).

mod access;
mod accounts;
mod agents;
mod audit;
mod bad_input;
mod brand;
mod cli;
mod cloud;
#[path = "../common/mod.rs"]
mod common;
mod escalation;
mod finance;
mod i18n;
mod layers;
mod migrations;
mod money;
mod ops;
mod org;
mod products;
mod purchase;
mod settlement;
mod shipping;
mod stock;
mod tokens;
mod users;
