//! The 品牌信息 page (texts, bank accounts, logo upload) and the public
//! logo every page shows.

use askama::Template;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};

use crate::brand::SettingsWrite;
use crate::error::FieldErrors;
use crate::identity::Need;
use crate::settings::brand::{self, BankAccount, Brand, MAX_ACCOUNTS, MAX_LOGO_BYTES};
use crate::state::AppState;
use crate::web::uploads::{self, Refused};
use crate::web::{self, FormPairs, PageCtx};
use crate::{Error, Result};

const BACK: &str = "/settings/brand";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/settings/brand", get(form_page).post(save))
        .route(
            "/settings/brand/logo",
            // Room for a picture well over the limit, so that it is refused
            // with a message on the page rather than a bare 413.
            post(logo_upload).layer(DefaultBodyLimit::max(8 * MAX_LOGO_BYTES)),
        )
        .route("/settings/brand/logo/delete", post(logo_delete))
        .route("/brand/logo", get(logo))
}

#[derive(Template)]
#[template(path = "brand/settings.html")]
struct SettingsPage {
    ctx: PageCtx,
    form: Brand,
    /// The accounts with blank rows to add more (up to the maximum).
    rows: Vec<BankAccount>,
    errors: FieldErrors,
    uploads: bool,
}

impl SettingsPage {
    fn new(ctx: PageCtx, form: Brand, errors: FieldErrors, uploads: bool) -> SettingsPage {
        let mut rows = form.bank_accounts.clone();
        let blanks = if rows.is_empty() {
            1
        } else {
            1.min(MAX_ACCOUNTS.saturating_sub(rows.len()))
        };
        rows.extend(std::iter::repeat_n(BankAccount::default(), blanks));
        SettingsPage {
            ctx: ctx.titled("menu.brand", &[("menu.system", None)]),
            form,
            rows,
            errors,
            uploads,
        }
    }

    /// The message for field `name` of account row `i`.
    fn row_error(&self, i: &usize, name: &str) -> Option<String> {
        self.errors
            .get(&format!("bank_accounts.{i}.{name}"))
            .map(|k| self.ctx.t(k))
    }

    fn error(&self, name: &str) -> Option<String> {
        self.errors.get(name).map(|k| self.ctx.t(k))
    }
}

async fn form_page(
    State(s): State<AppState>,
    _who: Need<SettingsWrite>,
    ctx: PageCtx,
) -> Result<Response> {
    let form = ctx.brand.clone();
    Ok(web::page(SettingsPage::new(
        ctx,
        form,
        FieldErrors::default(),
        s.options.data_dir.is_some(),
    )))
}

/// The brand as typed: account rows are the repeated fields in order.
fn from_form(form: &FormPairs) -> Brand {
    let names = form.all("account_name");
    let banks = form.all("bank");
    let numbers = form.all("account_number");
    let notes = form.all("note");
    let n = names
        .len()
        .max(banks.len())
        .max(numbers.len())
        .max(notes.len());
    let at = |v: &[&str], i: usize| v.get(i).copied().unwrap_or("").to_string();
    Brand {
        name: form.get("name").into(),
        short_name: form.get("short_name").into(),
        seal_text: form.get("seal_text").into(),
        service_phone: form.get("service_phone").into(),
        bank_accounts: (0..n)
            .map(|i| BankAccount {
                account_name: at(&names, i),
                bank: at(&banks, i),
                account_number: at(&numbers, i),
                note: at(&notes, i),
            })
            .collect(),
        logo: None,
    }
    .normalised()
}

async fn save(
    State(s): State<AppState>,
    who: Need<SettingsWrite>,
    ctx: PageCtx,
    form: FormPairs,
) -> Result<Response> {
    let typed = from_form(&form);
    match brand::save(&s.db, &who.actor(), typed.clone()).await {
        Ok(_) => Ok(web::redirect_with_flash(
            BACK,
            "success",
            "common.saved",
            "",
        )),
        Err(Error::Validation(errors)) => {
            let typed = Brand {
                logo: ctx.brand.logo.clone(),
                ..typed
            };
            Ok(web::page_with_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                SettingsPage::new(ctx, typed, errors, s.options.data_dir.is_some()),
            ))
        }
        Err(e) => Err(e),
    }
}

/// The uploaded logo; public, as the sign-in page, the portal and /verify
/// show it. Its address names the file, so it may be cached for long.
async fn logo(State(s): State<AppState>) -> Result<Response> {
    let b = brand::load(&s.db).await?;
    let file = b.logo.filter(|f| brand::safe_file_name(f));
    uploads::serve(
        s.options.data_dir.as_deref(),
        file.as_deref(),
        "public, max-age=86400",
    )
    .await
}

async fn logo_upload(
    State(s): State<AppState>,
    who: Need<SettingsWrite>,
    multipart: Multipart,
) -> Result<Response> {
    let dir = s.options.data_dir.as_deref();
    let picture = match uploads::read_picture(dir, multipart, "logo", MAX_LOGO_BYTES).await? {
        Ok(p) => p,
        Err(why) => {
            let key = match why {
                Refused::NoUploads => "brand.no_uploads",
                Refused::NoFile => "brand.no_file",
                Refused::TooLarge => "brand.logo_too_large",
                Refused::NotAnImage => "brand.logo_kind",
            };
            return Ok(web::redirect_with_flash(BACK, "error", key, ""));
        }
    };
    let dir = dir.ok_or_else(|| anyhow::anyhow!("checked by read_picture"))?;
    let actor = who.actor();
    uploads::replace(dir, "brand-logo", picture, |file| async move {
        brand::set_logo(&s.db, &actor, Some(&file)).await
    })
    .await?;
    Ok(web::redirect_with_flash(
        BACK,
        "success",
        "brand.logo_saved",
        "",
    ))
}

async fn logo_delete(
    State(s): State<AppState>,
    who: Need<SettingsWrite>,
    ctx: PageCtx,
    form: FormPairs,
) -> Result<Response> {
    if ctx.brand.logo.is_none() {
        return Ok(web::redirect_with_flash(BACK, "info", "brand.no_logo", ""));
    }
    if !form.confirmed() {
        let msg = ctx.t("brand.confirm_remove_logo");
        return Ok(web::confirm(
            ctx,
            msg,
            "/settings/brand/logo/delete",
            vec![],
            BACK,
            "brand.remove_logo",
        ));
    }
    let old = brand::set_logo(&s.db, &who.actor(), None).await?;
    uploads::remove(s.options.data_dir.as_deref(), old.as_deref()).await;
    Ok(web::redirect_with_flash(
        BACK,
        "success",
        "common.saved",
        "",
    ))
}
