//! Who is making a request and what they may do: the signed-in
//! [`Principal`], the [`Need`] extractor that enforces a permission for
//! pages and API alike, the session and token check behind them, and the
//! random secrets they are made of.
//!
//! Below the domains: every handler uses it, and it imports no domain.
//! Roles are edited in `crate::access`, sessions and tokens are made and
//! revoked in `crate::auth`; this module only reads them.

pub mod authority;
pub mod credentials;
pub mod password;
pub mod principal;
pub mod secrets;
pub mod sessions;
pub mod throttle;

pub use crate::registry::Permission;
pub use principal::{AuthVia, Need, Principal, UserAuthRow};
pub use secrets::{random_hex, random_password, random_secret, secret_hash};

/// The code of the built-in administrator role: it holds every permission
/// and sees all data, whatever its rows say.
pub const ADMIN_ROLE: &str = "admin";
