//! The one application error: every failure a user can meet is a variant
//! with a status code, a stable machine code and a localised message.
//! Internal causes are logged with the request id and never shown.
//!
//! `Error::into_response` only attaches an [`ErrorReport`] to the response;
//! the `render_errors` middleware (crate::http) turns it into a JSON body for
//! the API or an HTML page for people, in the request's language. Errors
//! axum produces by itself (unknown route, malformed JSON, wrong content
//! type, oversized body) go through the same renderer.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use weiops_core::accounts::Invalid;

use crate::i18n::Locale;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The reason a person must give for a decision (rejecting a transfer,
/// an after-sales case …): trimmed, 1 to 200 characters, else a
/// validation error on the `reason` field with message `key`.
pub fn required_reason<'a>(reason: &'a str, key: &str) -> Result<&'a str> {
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 200 {
        let mut f = FieldErrors::default();
        f.add("reason", key);
        return Err(Error::Validation(f));
    }
    Ok(reason)
}

/// Field name → message key, in form order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldErrors(pub Vec<(String, String)>);

impl FieldErrors {
    pub fn add(&mut self, field: &str, key: &str) {
        if !self.has(field) {
            self.0.push((field.to_string(), key.to_string()));
        }
    }

    pub fn has(&self, field: &str) -> bool {
        self.0.iter().any(|(f, _)| f == field)
    }

    /// The message key for `field`, for templates.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, k)| k.as_str())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Records an invalid value under `field` with the shared message keys.
    pub fn invalid(&mut self, field: &str, why: Invalid) {
        self.add(field, invalid_key(why));
    }

    /// `Ok(())` when nothing was recorded.
    pub fn into_result(self) -> Result<()> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(Error::Validation(self))
        }
    }
}

pub fn invalid_key(why: Invalid) -> &'static str {
    match why {
        Invalid::Required => "field.required",
        Invalid::TooShort => "field.too_short",
        Invalid::TooLong => "field.too_long",
        Invalid::BadCharacters => "field.bad_characters",
        Invalid::BadPhone => "field.bad_phone",
        Invalid::PasswordTooWeak => "field.password_weak",
    }
}

/// One problem in one row of an imported file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct RowProblem {
    /// 1-based line of the file (the header is line 1).
    pub row: usize,
    /// The row's own id (agent id, order id…), when the file has one.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub id: String,
    /// The column's header as the file names it, or empty for the whole row.
    pub column: String,
    /// Message key (localised when shown).
    pub key: String,
    /// The offending value, when useful.
    pub value: String,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("not signed in")]
    Unauthenticated,
    #[error("session expired")]
    SessionExpired,
    #[error("invalid or revoked API token")]
    BadToken,
    #[error("wrong username or password")]
    InvalidCredentials,
    #[error("account locked")]
    AccountLocked,
    #[error("too many attempts from this address")]
    TooManyAttempts,
    #[error("account disabled")]
    AccountDisabled,
    #[error("password change required")]
    PasswordChangeRequired,
    #[error("missing permission {0}")]
    MissingPermission(&'static str),
    /// The record's state refuses the change (the last administrator, a
    /// built-in role, a terminated agent): a business rule, so 409, not the
    /// 403 of a missing permission. The key says why.
    #[error("refused: {0}")]
    Refused(&'static str),
    /// Permitted in general, but not to this user for this record (the
    /// four-eyes rule: nobody approves their own settlement): 403.
    #[error("denied: {0}")]
    Denied(&'static str),
    #[error("not found")]
    NotFound,
    #[error("invalid input")]
    Validation(FieldErrors),
    #[error("conflict: {0}")]
    Conflict(&'static str),
    /// An import file was refused as a whole; nothing was stored.
    #[error("import refused: {} problem(s)", .0.len())]
    ImportRejected(Vec<RowProblem>),
    #[error("bad request: {0}")]
    BadRequest(&'static str),
    /// Not enough stock of a SKU: 409 naming it and what is available.
    #[error("not enough stock of {sku}: {available} available")]
    Shortage { sku: String, available: i64 },
    /// A refund of a cloud-stock order whose units the agent no longer
    /// holds (shipped out on request): 409 naming the SKU and what is left.
    #[error("cloud stock holds only {available} of {sku}")]
    CloudShortage { sku: String, available: i64 },
    #[error("cross-site request refused")]
    Csrf,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        Error::Internal(anyhow::Error::new(e))
    }
}

/// What the renderer needs to answer an error in any language.
#[derive(Debug, Clone)]
pub struct ErrorReport {
    pub status: StatusCode,
    pub code: &'static str,
    /// Message key in locales/*.json.
    pub key: String,
    /// Values for `%{name}` placeholders; a value starting with `@` is a
    /// message key itself (e.g. a permission's name).
    pub args: Vec<(&'static str, String)>,
    pub fields: FieldErrors,
    /// Row problems of a refused import.
    pub rows: Vec<RowProblem>,
}

impl ErrorReport {
    pub fn new(status: StatusCode, code: &'static str, key: &str) -> Self {
        ErrorReport {
            status,
            code,
            key: key.to_string(),
            args: Vec::new(),
            fields: FieldErrors::default(),
            rows: Vec::new(),
        }
    }

    pub fn message(&self, locale: Locale) -> String {
        let args: Vec<(&str, String)> = self
            .args
            .iter()
            .map(|(k, v)| match v.strip_prefix('@') {
                Some(key) => (*k, locale.t(key)),
                None => (*k, v.clone()),
            })
            .collect();
        let borrowed: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
        locale.tf(&self.key, &borrowed)
    }

    /// The report for a plain-text error axum produced by itself.
    pub fn from_status(status: StatusCode) -> Self {
        let (code, key) = match status {
            StatusCode::NOT_FOUND => ("not_found", "error.not_found"),
            StatusCode::METHOD_NOT_ALLOWED => ("method_not_allowed", "error.method_not_allowed"),
            StatusCode::PAYLOAD_TOO_LARGE => ("payload_too_large", "error.payload_too_large"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => {
                ("unsupported_media_type", "error.unsupported_media_type")
            }
            StatusCode::UNPROCESSABLE_ENTITY => ("invalid_body", "error.invalid_body"),
            StatusCode::REQUEST_TIMEOUT | StatusCode::SERVICE_UNAVAILABLE => {
                ("timeout", "error.timeout")
            }
            s if s.is_client_error() => ("bad_request", "error.bad_request"),
            _ => ("internal", "error.internal"),
        };
        ErrorReport::new(status, code, key)
    }
}

impl Error {
    pub fn report(&self) -> ErrorReport {
        use StatusCode as S;
        match self {
            Error::Unauthenticated => {
                ErrorReport::new(S::UNAUTHORIZED, "unauthenticated", "error.unauthenticated")
            }
            Error::SessionExpired => {
                ErrorReport::new(S::UNAUTHORIZED, "session_expired", "error.session_expired")
            }
            Error::BadToken => {
                ErrorReport::new(S::UNAUTHORIZED, "invalid_token", "error.invalid_token")
            }
            Error::InvalidCredentials => ErrorReport::new(
                S::UNAUTHORIZED,
                "invalid_credentials",
                "error.invalid_credentials",
            ),
            Error::AccountLocked => ErrorReport::new(
                S::TOO_MANY_REQUESTS,
                "account_locked",
                "error.account_locked",
            ),
            Error::TooManyAttempts => ErrorReport::new(
                S::TOO_MANY_REQUESTS,
                "too_many_attempts",
                "error.too_many_attempts",
            ),
            Error::AccountDisabled => {
                ErrorReport::new(S::FORBIDDEN, "account_disabled", "error.account_disabled")
            }
            Error::PasswordChangeRequired => ErrorReport::new(
                S::FORBIDDEN,
                "password_change_required",
                "error.password_change_required",
            ),
            Error::MissingPermission(code) => {
                let mut r = ErrorReport::new(S::FORBIDDEN, "forbidden", "error.missing_permission");
                r.args.push(("permission", (*code).to_string()));
                r.args.push(("name", format!("@perm.{code}")));
                r
            }
            Error::Refused(key) => ErrorReport::new(S::CONFLICT, "refused", key),
            Error::Denied(key) => ErrorReport::new(S::FORBIDDEN, "denied", key),
            Error::NotFound => ErrorReport::new(S::NOT_FOUND, "not_found", "error.not_found"),
            Error::Validation(fields) => {
                let mut r = ErrorReport::new(
                    S::UNPROCESSABLE_ENTITY,
                    "validation_failed",
                    "error.validation",
                );
                r.fields = fields.clone();
                r
            }
            Error::Conflict(key) => ErrorReport::new(S::CONFLICT, "conflict", key),
            Error::ImportRejected(rows) => {
                let mut r = ErrorReport::new(
                    S::UNPROCESSABLE_ENTITY,
                    "import_rejected",
                    "error.import_rejected",
                );
                r.args.push(("n", rows.len().to_string()));
                r.rows = rows.clone();
                r
            }
            Error::BadRequest(key) => ErrorReport::new(S::BAD_REQUEST, "bad_request", key),
            Error::Shortage { sku, available } => {
                let mut r = ErrorReport::new(S::CONFLICT, "out_of_stock", "orders.shortage");
                r.args.push(("sku", sku.clone()));
                r.args.push(("available", available.to_string()));
                r
            }
            Error::CloudShortage { sku, available } => {
                let mut r = ErrorReport::new(
                    S::CONFLICT,
                    "cloud_stock_short",
                    "aftersales.cloud_units_gone",
                );
                r.args.push(("sku", sku.clone()));
                r.args.push(("available", available.to_string()));
                r
            }
            Error::Csrf => ErrorReport::new(S::FORBIDDEN, "csrf_rejected", "error.csrf"),
            Error::Internal(_) => {
                ErrorReport::new(S::INTERNAL_SERVER_ERROR, "internal", "error.internal")
            }
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        if let Error::Internal(cause) = &self {
            tracing::error!(error = ?cause, "internal error");
        }
        let report = self.report();
        let mut response = report.status.into_response();
        response.extensions_mut().insert(report);
        response
    }
}
