//! One page of a list as the JSON API answers it: the rows and where they
//! stand in the whole list. Every `/api/v1` list answers this shape; a list
//! that says more (the orders' capped count, the stock's totals per SKU)
//! keeps its own type.
//!
//! Bottom layer: imports no domain, so every domain can use it.

use serde::Serialize;
use utoipa::ToSchema;
use utoipa::openapi::Ref;
use utoipa::openapi::schema::{Array, ArrayBuilder};
use weiops_core::paging::PageInfo;

/// One page of a list, and where it stands in the whole list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Paged<T> {
    /// The rows of this page.
    #[schema(schema_with = refs_to::<T>)]
    pub items: Vec<T>,
    /// 1-based.
    pub page: i64,
    pub per_page: i64,
    /// Rows in the whole list.
    pub total: i64,
}

/// `items` as an array of references to `T`'s component. utoipa inlines a
/// generic argument's whole schema into the composed one (`Paged_Role`
/// would repeat every field of `Role`); a reference keeps the document as
/// it was with one page type per domain, and the path macro registers `T`
/// itself as a component when it meets `body = Paged<T>`.
fn refs_to<T: ToSchema>() -> Array {
    ArrayBuilder::new()
        .items(Ref::from_schema_name(T::name()))
        .build()
}

impl<T> Paged<T> {
    /// The rows of a page and what the query said of the page.
    pub fn new(items: Vec<T>, info: PageInfo) -> Paged<T> {
        Paged {
            items,
            page: info.page,
            per_page: info.per_page,
            total: info.total,
        }
    }
}
