//! `/api/v1/settings/brand`: the brand's name, seal text, service phone and
//! bank accounts (the logo is uploaded on the settings page).

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::Result;
use crate::brand::SettingsWrite;
use crate::identity::Need;
use crate::settings::brand::{self, Brand};
use crate::state::AppState;
use crate::web::VERSION;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_brand, put_brand))
}

/// The brand as set; empty texts mean weiops' own name is shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct BrandSettings {
    #[serde(flatten)]
    pub brand: Brand,
    /// The address of the uploaded logo; null while weiops' own is shown.
    pub logo_url: Option<String>,
}

fn shown(b: Brand) -> BrandSettings {
    BrandSettings {
        logo_url: b.logo.as_ref().map(|_| b.logo_url(VERSION)),
        brand: b,
    }
}

/// The brand's settings (needs `settings.write`: read by those who edit them).
#[utoipa::path(get, path = "/api/v1/settings/brand", tag = "settings",
    responses((status = 200, body = BrandSettings), (status = 403)))]
async fn get_brand(
    State(s): State<AppState>,
    _who: Need<SettingsWrite>,
) -> Result<Json<BrandSettings>> {
    Ok(Json(shown(brand::load(&s.db).await?)))
}

/// Replaces the brand's texts and bank accounts (audited, before and after).
/// 422 naming each bad field (`bank_accounts.0.account_number`); nothing is
/// saved then. Account rows left wholly empty are dropped.
#[utoipa::path(put, path = "/api/v1/settings/brand", tag = "settings", request_body = Brand,
    responses((status = 200, body = BrandSettings), (status = 403), (status = 422)))]
async fn put_brand(
    State(s): State<AppState>,
    who: Need<SettingsWrite>,
    Json(body): Json<Brand>,
) -> Result<Json<BrandSettings>> {
    Ok(Json(shown(brand::save(&s.db, &who.actor(), body).await?)))
}
