//! What agents see of products in the portal: the pictures of the products
//! on sale, shown in the shop (进货, `orders::portal`).

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;

use super::store;
use crate::agents::portal::AgentSession;
use crate::state::AppState;
use crate::{Error, Result};

pub fn router() -> Router<AppState> {
    Router::new().route("/m/products/{id}/image", get(image))
}

/// A product's picture for a signed-in agent; products off sale are not
/// shown in the shop, so their pictures are not served either.
async fn image(
    State(s): State<AppState>,
    _me: AgentSession,
    Path(id): Path<i64>,
) -> Result<Response> {
    let p = store::get(&s.db, id).await?;
    if !p.on_sale {
        return Err(Error::NotFound);
    }
    super::pages::image_response(&s, p).await
}
