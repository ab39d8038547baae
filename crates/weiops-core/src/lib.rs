//! Pure business rules of weiops.
//!
//! Everything in this crate decides something (how money is rounded, when a
//! session has expired, whether a request may change state, who may see which
//! rows) without doing any I/O. The server crate calls these functions from its
//! handlers and store functions; tests and benchmarks call them directly.

pub mod access;
pub mod accounts;
pub mod agents;
pub mod csrf;
pub mod csv;
pub mod ledger;
pub mod money;
pub mod orders;
pub mod org;
pub mod paging;
pub mod purchase;
pub mod rewards;
pub mod time;
