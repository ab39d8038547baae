//! Product pages (商品管理 under 商品订单): the list with filters and export,
//! the product form, the product page with its SKUs and picture, the SKU
//! page with prices per level and their history, and categories.

use askama::Template;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use weiops_core::money::Fen;

use super::api::filter_of;
use super::store::{
    self, Category, CategoryInput, LevelPriceInput, PriceChange, Product, ProductInput, Sku,
    SkuInput,
};
use crate::agents::levels::{self, Level};
use crate::error::FieldErrors;
use crate::export::{self, ExportFormat, Table};
use crate::identity::Need;
use crate::products::{ProductsRead, ProductsWrite};
use crate::state::AppState;
use crate::web::list::{ListParams, Pager, SortHeader};
use crate::web::uploads::{self, Refused};
use crate::web::{self, FormPairs, PageCtx};
use crate::{Error, Result};

/// The largest product picture accepted.
pub const MAX_IMAGE_BYTES: usize = 2 * 1024 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/products", get(list).post(create))
        .route("/products/new", get(new_form))
        .route("/products/export", get(export_list))
        .route(
            "/products/categories",
            get(categories_page).post(category_create),
        )
        .route("/products/categories/{id}", post(category_rename))
        .route("/products/categories/{id}/delete", post(category_delete))
        .route("/products/{id}", get(detail).post(update))
        .route("/products/{id}/edit", get(edit_form))
        .route("/products/{id}/sale", post(set_on_sale))
        .route(
            "/products/{id}/image",
            get(image)
                .post(image_upload)
                // Room for the multipart framing around a 2 MB picture.
                .layer(DefaultBodyLimit::max(MAX_IMAGE_BYTES + 64 * 1024)),
        )
        .route("/products/{id}/image/delete", post(image_delete))
        .route("/products/{id}/skus", post(sku_create))
        .route("/products/{id}/skus/{sku}", get(sku_page).post(sku_update))
        .route("/products/{id}/skus/{sku}/prices", post(sku_prices))
}

const GOODS: (&str, Option<&str>) = ("menu.goods", None);
const PRODUCTS: (&str, Option<&str>) = ("menu.products", Some("/products"));

/// A message key of a refused change, for a flash banner.
fn first_key(e: &Error) -> &str {
    match e {
        Error::Validation(f) => {
            f.0.first()
                .map(|x| x.1.as_str())
                .unwrap_or("error.validation")
        }
        Error::Conflict(k) | Error::Refused(k) | Error::BadRequest(k) => k,
        _ => "error.internal",
    }
}

// ---------------------------------------------------------------- list

#[derive(Template)]
#[template(path = "products/list.html")]
struct ListPage {
    ctx: PageCtx,
    params: ListParams,
    products: Vec<Product>,
    categories: Vec<Category>,
    pager: Pager,
    headers: Vec<SortHeader>,
}

async fn list(
    State(s): State<AppState>,
    _who: Need<ProductsRead>,
    ctx: PageCtx,
    params: ListParams,
) -> Result<Response> {
    let order = params.order_by(store::SORTS, "p.updated_at DESC");
    let (products, info) = store::list(&s.db, &filter_of(&params)?, &order, params.page()).await?;
    let headers = vec![
        params.sort_header("code", ctx.t("products.code")),
        params.sort_header("name", ctx.t("products.name")),
    ];
    Ok(web::page(ListPage {
        ctx: ctx.titled("menu.products", &[GOODS]),
        pager: params.pager(info),
        params,
        products,
        categories: store::categories(&s.db).await?,
        headers,
    }))
}

async fn export_list(
    State(s): State<AppState>,
    _who: Need<ProductsRead>,
    ctx: PageCtx,
    params: ListParams,
) -> Result<Response> {
    let format = ExportFormat::parse(params.get("format"))?;
    let order = params.order_by(store::SORTS, "p.updated_at DESC");
    let page = weiops_core::paging::PageRequest {
        page: 1,
        per_page: export::MAX_EXPORT_ROWS,
    };
    let (products, _) = store::list(&s.db, &filter_of(&params)?, &order, page).await?;
    let t = |k: &str| ctx.t(k);
    let table = Table {
        sheet: t("menu.products"),
        headers: vec![
            t("products.code"),
            t("products.name"),
            t("products.category"),
            t("products.sku_count"),
            t("products.retail"),
            t("common.status"),
            t("products.description"),
            t("common.updated_at"),
        ],
        rows: products
            .iter()
            .map(|p| {
                vec![
                    p.code.clone(),
                    p.name.clone(),
                    p.category_name.clone().unwrap_or_default(),
                    p.sku_count.to_string(),
                    p.retail_range(),
                    t(if p.on_sale {
                        "products.on_sale"
                    } else {
                        "products.off_sale"
                    }),
                    p.description.clone(),
                    ctx.time(p.updated_at),
                ]
            })
            .collect(),
    };
    export::respond(&table, format, "products")
}

// ---------------------------------------------------------------- product form

#[derive(Template)]
#[template(path = "products/form.html")]
struct FormPage {
    ctx: PageCtx,
    product: Option<Product>,
    input: ProductInput,
    categories: Vec<Category>,
    errors: FieldErrors,
}

impl FormPage {
    fn in_category(&self, id: &i64) -> bool {
        self.input.category_id == Some(*id)
    }
}

async fn product_form(
    s: &AppState,
    ctx: PageCtx,
    product: Option<Product>,
    input: ProductInput,
    errors: FieldErrors,
    status: StatusCode,
) -> Result<Response> {
    let ctx = match &product {
        Some(p) => {
            let title = format!("{} · {}", ctx.t("products.edit"), p.name);
            ctx.titled_text(title, &[GOODS, PRODUCTS])
        }
        None => ctx.titled("products.new", &[GOODS, PRODUCTS]),
    };
    Ok(web::page_with_status(
        status,
        FormPage {
            ctx,
            product,
            input,
            categories: store::categories(&s.db).await?,
            errors,
        },
    ))
}

fn product_input(form: &FormPairs) -> Result<ProductInput> {
    let category = form.get("category_id").trim();
    Ok(ProductInput {
        code: form.get("code").to_string(),
        name: form.get("name").to_string(),
        category_id: if category.is_empty() {
            None
        } else {
            Some(
                category
                    .parse()
                    .map_err(|_| Error::BadRequest("error.bad_form"))?,
            )
        },
        description: form.get("description").to_string(),
        on_sale: form.get("on_sale") == "1",
    })
}

/// A refused save shown on its form: field errors (422) or a taken code (409).
fn form_errors(e: Error) -> Result<(FieldErrors, StatusCode)> {
    match e {
        Error::Validation(f) => Ok((f, StatusCode::UNPROCESSABLE_ENTITY)),
        Error::Conflict(key) => {
            let mut f = FieldErrors::default();
            f.add("code", key);
            Ok((f, StatusCode::CONFLICT))
        }
        e => Err(e),
    }
}

async fn new_form(
    State(s): State<AppState>,
    _who: Need<ProductsWrite>,
    ctx: PageCtx,
    params: ListParams,
) -> Result<Response> {
    let input = ProductInput {
        category_id: params.get_i64("category"),
        ..Default::default()
    };
    product_form(&s, ctx, None, input, FieldErrors::default(), StatusCode::OK).await
}

async fn create(
    State(s): State<AppState>,
    who: Need<ProductsWrite>,
    ctx: PageCtx,
    form: FormPairs,
) -> Result<Response> {
    let input = product_input(&form)?;
    match store::create(&s.db, &who.actor(), &input).await {
        Ok(id) => Ok(web::redirect_with_flash(
            &format!("/products/{id}"),
            "success",
            "products.saved_flash",
            input.name.trim(),
        )),
        Err(e) => {
            let (errors, status) = form_errors(e)?;
            product_form(&s, ctx, None, input, errors, status).await
        }
    }
}

async fn edit_form(
    State(s): State<AppState>,
    _who: Need<ProductsWrite>,
    ctx: PageCtx,
    Path(id): Path<i64>,
) -> Result<Response> {
    let p = store::get(&s.db, id).await?;
    let input = ProductInput {
        code: p.code.clone(),
        name: p.name.clone(),
        category_id: p.category_id,
        description: p.description.clone(),
        on_sale: p.on_sale,
    };
    product_form(
        &s,
        ctx,
        Some(p),
        input,
        FieldErrors::default(),
        StatusCode::OK,
    )
    .await
}

async fn update(
    State(s): State<AppState>,
    who: Need<ProductsWrite>,
    ctx: PageCtx,
    Path(id): Path<i64>,
    form: FormPairs,
) -> Result<Response> {
    let before = store::get(&s.db, id).await?;
    let input = product_input(&form)?;
    match store::update(&s.db, &who.actor(), id, &input).await {
        Ok(()) => Ok(web::redirect_with_flash(
            &format!("/products/{id}"),
            "success",
            "products.saved_flash",
            input.name.trim(),
        )),
        Err(e) => {
            let (errors, status) = form_errors(e)?;
            product_form(&s, ctx, Some(before), input, errors, status).await
        }
    }
}

async fn set_on_sale(
    State(s): State<AppState>,
    who: Need<ProductsWrite>,
    Path(id): Path<i64>,
    form: FormPairs,
) -> Result<Response> {
    let on_sale = match form.get("on_sale") {
        "1" => true,
        "0" => false,
        _ => return Err(Error::BadRequest("error.bad_form")),
    };
    store::set_on_sale(&s.db, &who.actor(), id, on_sale).await?;
    Ok(web::redirect_with_flash(
        &format!("/products/{id}"),
        "success",
        "common.saved",
        "",
    ))
}

// ---------------------------------------------------------------- product page

/// The add-SKU form as typed (money as yuan text).
#[derive(Debug, Clone, Default)]
struct SkuForm {
    code: String,
    spec: String,
    barcode: String,
    retail: String,
    weight_g: String,
    on_sale: bool,
}

impl SkuForm {
    fn of(sku: &Sku) -> SkuForm {
        SkuForm {
            code: sku.code.clone(),
            spec: sku.spec.clone(),
            barcode: sku.barcode.clone(),
            retail: sku.retail_yuan(),
            weight_g: sku.weight_g.to_string(),
            on_sale: sku.on_sale,
        }
    }

    fn read(form: &FormPairs) -> SkuForm {
        SkuForm {
            code: form.get("code").to_string(),
            spec: form.get("spec").to_string(),
            barcode: form.get("barcode").to_string(),
            retail: form.get("retail").to_string(),
            weight_g: form.get("weight_g").to_string(),
            on_sale: form.get("on_sale") == "1",
        }
    }

    /// The input for the store, or the fields that are not numbers.
    fn input(&self) -> Result<SkuInput> {
        let mut errors = FieldErrors::default();
        let retail = match Fen::parse_yuan(&self.retail) {
            Ok(f) => f.0,
            Err(_) if self.retail.trim().is_empty() => {
                errors.add("retail", "field.required");
                0
            }
            Err(_) => {
                errors.add("retail", "sku.bad_yuan");
                0
            }
        };
        let weight = self.weight_g.trim();
        let weight_g = if weight.is_empty() {
            0
        } else {
            weight.parse().unwrap_or_else(|_| {
                errors.add("weight_g", "sku.weight_range");
                0
            })
        };
        errors.into_result()?;
        Ok(SkuInput {
            code: self.code.clone(),
            spec: self.spec.clone(),
            barcode: self.barcode.clone(),
            retail_fen: retail,
            weight_g,
            on_sale: self.on_sale,
        })
    }
}

/// The store names the retail field after its unit; the form types yuan.
fn sku_errors(e: Error) -> Result<(FieldErrors, StatusCode)> {
    match e {
        Error::Validation(f) => Ok((
            FieldErrors(
                f.0.into_iter()
                    .map(|(field, key)| {
                        let field = if field == "retail_fen" {
                            "retail".to_string()
                        } else {
                            field
                        };
                        (field, key)
                    })
                    .collect(),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
        )),
        other => form_errors(other),
    }
}

#[derive(Template)]
#[template(path = "products/detail.html")]
struct DetailPage {
    ctx: PageCtx,
    product: Product,
    skus: Vec<Sku>,
    levels: Vec<Level>,
    sku_form: SkuForm,
    errors: FieldErrors,
    uploads: bool,
}

async fn detail_page(
    s: &AppState,
    ctx: PageCtx,
    id: i64,
    sku_form: SkuForm,
    errors: FieldErrors,
    status: StatusCode,
) -> Result<Response> {
    let product = store::get(&s.db, id).await?;
    let ctx = ctx.titled_text(
        format!("{} · {}", product.name, product.code),
        &[GOODS, PRODUCTS],
    );
    Ok(web::page_with_status(
        status,
        DetailPage {
            ctx,
            skus: store::skus_of(&s.db, id).await?,
            levels: levels::all(&s.db).await?,
            product,
            sku_form,
            errors,
            uploads: s.options.data_dir.is_some(),
        },
    ))
}

async fn detail(
    State(s): State<AppState>,
    _who: Need<ProductsRead>,
    ctx: PageCtx,
    Path(id): Path<i64>,
) -> Result<Response> {
    let form = SkuForm {
        on_sale: true,
        ..Default::default()
    };
    detail_page(&s, ctx, id, form, FieldErrors::default(), StatusCode::OK).await
}

async fn sku_create(
    State(s): State<AppState>,
    who: Need<ProductsWrite>,
    ctx: PageCtx,
    Path(id): Path<i64>,
    form: FormPairs,
) -> Result<Response> {
    let typed = SkuForm::read(&form);
    let result = match typed.input() {
        Ok(input) => store::create_sku(&s.db, &who.actor(), id, &input).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(sku) => Ok(web::redirect_with_flash(
            &format!("/products/{id}/skus/{sku}"),
            "success",
            "sku.created_flash",
            typed.code.trim(),
        )),
        Err(e) => {
            let (errors, status) = sku_errors(e)?;
            detail_page(&s, ctx, id, typed, errors, status).await
        }
    }
}

// ---------------------------------------------------------------- pictures

async fn image(
    State(s): State<AppState>,
    _who: Need<ProductsRead>,
    Path(id): Path<i64>,
) -> Result<Response> {
    let p = store::get(&s.db, id).await?;
    image_response(&s, p).await
}

/// The picture of a product as stored in `<data-dir>/uploads`: for staff
/// here, for agents in the portal's shop (`super::portal`).
pub(crate) async fn image_response(s: &AppState, p: store::Product) -> Result<Response> {
    uploads::serve(
        s.options.data_dir.as_deref(),
        p.image.as_deref(),
        "private, max-age=300",
    )
    .await
}

async fn image_upload(
    State(s): State<AppState>,
    who: Need<ProductsWrite>,
    Path(id): Path<i64>,
    multipart: Multipart,
) -> Result<Response> {
    let back = format!("/products/{id}");
    store::get(&s.db, id).await?;
    let dir = s.options.data_dir.as_deref();
    let picture = match uploads::read_picture(dir, multipart, "image", MAX_IMAGE_BYTES).await? {
        Ok(p) => p,
        Err(why) => {
            let key = match why {
                Refused::NoUploads => "products.no_uploads",
                Refused::NoFile => "products.no_file",
                Refused::TooLarge => "products.image_too_large",
                Refused::NotAnImage => "products.image_kind",
            };
            return Ok(web::redirect_with_flash(&back, "error", key, ""));
        }
    };
    let dir = dir.ok_or_else(|| anyhow::anyhow!("checked by read_picture"))?;
    let actor = who.actor();
    uploads::replace(dir, &format!("product-{id}"), picture, |file| async move {
        store::set_image(&s.db, &actor, id, Some(&file)).await
    })
    .await?;
    Ok(web::redirect_with_flash(
        &back,
        "success",
        "products.image_saved",
        "",
    ))
}

async fn image_delete(
    State(s): State<AppState>,
    who: Need<ProductsWrite>,
    ctx: PageCtx,
    Path(id): Path<i64>,
    form: FormPairs,
) -> Result<Response> {
    let p = store::get(&s.db, id).await?;
    let back = format!("/products/{id}");
    if !form.confirmed() {
        let msg = ctx.tf("products.confirm_remove_image", &[("name", &p.name)]);
        return Ok(web::confirm(
            ctx,
            msg,
            &format!("/products/{id}/image/delete"),
            vec![],
            &back,
            "products.remove_image",
        ));
    }
    let old = store::set_image(&s.db, &who.actor(), id, None).await?;
    uploads::remove(s.options.data_dir.as_deref(), old.as_deref()).await;
    Ok(web::redirect_with_flash(
        &back,
        "success",
        "common.saved",
        "",
    ))
}

// ---------------------------------------------------------------- SKU page

/// One level's row of the price form.
struct PriceRow {
    level: i64,
    level_name: String,
    rate: String,
    by_rate_fen: i64,
    typed: String,
    price_fen: i64,
    is_override: bool,
}

#[derive(Template)]
#[template(path = "products/sku.html")]
struct SkuPage {
    ctx: PageCtx,
    product: Product,
    sku: Sku,
    sku_form: SkuForm,
    errors: FieldErrors,
    prices: Vec<PriceRow>,
    price_errors: FieldErrors,
    history: Vec<PriceChange>,
    levels: Vec<Level>,
}

impl SkuPage {
    fn price_error(&self, level: &i64) -> Option<&str> {
        self.price_errors.get(&format!("levels.{level}"))
    }

    /// What a history row changed: 零售价 or the level's name.
    fn what(&self, c: &PriceChange) -> String {
        match c.level {
            None => self.ctx.t("sku.retail"),
            Some(l) => match self.levels.iter().find(|x| x.level == l) {
                Some(x) => format!("{l} {}", x.name),
                None => self.ctx.tn("sku.level_n", l),
            },
        }
    }

    fn amount(&self, fen: &Option<i64>) -> String {
        match fen {
            Some(f) => Fen(*f).to_string(),
            None => "—".into(),
        }
    }
}

struct SkuState {
    form: Option<SkuForm>,
    errors: FieldErrors,
    typed_prices: Option<Vec<(i64, String)>>,
    price_errors: FieldErrors,
    status: StatusCode,
}

impl SkuState {
    fn fresh() -> SkuState {
        SkuState {
            form: None,
            errors: FieldErrors::default(),
            typed_prices: None,
            price_errors: FieldErrors::default(),
            status: StatusCode::OK,
        }
    }
}

/// The SKU, checked to belong to the product in the address.
async fn sku_of(s: &AppState, product_id: i64, sku_id: i64) -> Result<Sku> {
    let sku = store::get_sku(&s.db, sku_id).await?;
    if sku.product_id != product_id {
        return Err(Error::NotFound);
    }
    Ok(sku)
}

async fn sku_view(
    s: &AppState,
    ctx: PageCtx,
    product_id: i64,
    sku_id: i64,
    state: SkuState,
) -> Result<Response> {
    let product = store::get(&s.db, product_id).await?;
    let sku = sku_of(s, product_id, sku_id).await?;
    let levels = levels::all(&s.db).await?;
    let prices = sku
        .level_prices
        .iter()
        .map(|lp| {
            let typed = state
                .typed_prices
                .as_ref()
                .and_then(|t| t.iter().find(|(l, _)| *l == lp.level))
                .map(|(_, v)| v.clone())
                .unwrap_or_else(|| lp.override_fen.map(store::yuan_text).unwrap_or_default());
            PriceRow {
                level: lp.level,
                level_name: lp.level_name.clone(),
                rate: weiops_core::money::Bp(lp.rate_bp.clamp(0, 10_000) as u32).to_string(),
                by_rate_fen: weiops_core::purchase::unit_price(
                    Fen(sku.retail_fen),
                    weiops_core::money::Bp(lp.rate_bp.clamp(0, 10_000) as u32),
                    None,
                )
                .0,
                typed,
                price_fen: lp.price_fen,
                is_override: lp.override_fen.is_some(),
            }
        })
        .collect();
    let ctx = ctx.titled_text(
        format!("{} · {}", sku.code, product.name),
        &[
            GOODS,
            PRODUCTS,
            ("products.product", Some(&format!("/products/{product_id}"))),
        ],
    );
    Ok(web::page_with_status(
        state.status,
        SkuPage {
            ctx,
            sku_form: state.form.unwrap_or_else(|| SkuForm::of(&sku)),
            history: store::price_history(&s.db, sku_id).await?,
            product,
            sku,
            errors: state.errors,
            prices,
            price_errors: state.price_errors,
            levels,
        },
    ))
}

async fn sku_page(
    State(s): State<AppState>,
    _who: Need<ProductsRead>,
    ctx: PageCtx,
    Path((id, sku)): Path<(i64, i64)>,
) -> Result<Response> {
    sku_view(&s, ctx, id, sku, SkuState::fresh()).await
}

async fn sku_update(
    State(s): State<AppState>,
    who: Need<ProductsWrite>,
    ctx: PageCtx,
    Path((id, sku)): Path<(i64, i64)>,
    form: FormPairs,
) -> Result<Response> {
    sku_of(&s, id, sku).await?;
    let typed = SkuForm::read(&form);
    let result = match typed.input() {
        Ok(input) => store::update_sku(&s.db, &who.actor(), sku, &input).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => Ok(web::redirect_with_flash(
            &format!("/products/{id}/skus/{sku}"),
            "success",
            "common.saved",
            "",
        )),
        Err(e) => {
            let (errors, status) = sku_errors(e)?;
            let state = SkuState {
                form: Some(typed),
                errors,
                status,
                ..SkuState::fresh()
            };
            sku_view(&s, ctx, id, sku, state).await
        }
    }
}

async fn sku_prices(
    State(s): State<AppState>,
    who: Need<ProductsWrite>,
    ctx: PageCtx,
    Path((id, sku)): Path<(i64, i64)>,
    form: FormPairs,
) -> Result<Response> {
    sku_of(&s, id, sku).await?;
    let levels = form.ids("level")?;
    let typed = form.all("price");
    if typed.len() != levels.len() {
        return Err(Error::BadRequest("error.bad_form"));
    }
    let mut errors = FieldErrors::default();
    let mut input = Vec::new();
    for (level, text) in levels.iter().zip(&typed) {
        let price_fen = if text.trim().is_empty() {
            None
        } else {
            match Fen::parse_yuan(text) {
                Ok(f) => Some(f.0),
                Err(_) => {
                    errors.add(&format!("levels.{level}"), "sku.bad_yuan");
                    continue;
                }
            }
        };
        input.push(LevelPriceInput {
            level: *level,
            price_fen,
        });
    }
    let result = if errors.is_empty() {
        store::set_level_prices(&s.db, &who.actor(), sku, &input).await
    } else {
        Err(Error::Validation(errors))
    };
    match result {
        Ok(()) => Ok(web::redirect_with_flash(
            &format!("/products/{id}/skus/{sku}"),
            "success",
            "sku.prices_saved",
            "",
        )),
        Err(Error::Validation(price_errors)) => {
            let state = SkuState {
                typed_prices: Some(
                    levels
                        .iter()
                        .zip(&typed)
                        .map(|(l, t)| (*l, t.to_string()))
                        .collect(),
                ),
                price_errors,
                status: StatusCode::UNPROCESSABLE_ENTITY,
                ..SkuState::fresh()
            };
            sku_view(&s, ctx, id, sku, state).await
        }
        Err(e) => Err(e),
    }
}

// ---------------------------------------------------------------- categories

#[derive(Template)]
#[template(path = "products/categories.html")]
struct CategoriesPage {
    ctx: PageCtx,
    categories: Vec<Category>,
}

async fn categories_page(
    State(s): State<AppState>,
    _who: Need<ProductsRead>,
    ctx: PageCtx,
) -> Result<Response> {
    Ok(web::page(CategoriesPage {
        ctx: ctx.titled("category.title", &[GOODS, PRODUCTS]),
        categories: store::categories(&s.db).await?,
    }))
}

fn category_input(form: &FormPairs) -> Result<CategoryInput> {
    let sort = form.get("sort_order").trim();
    Ok(CategoryInput {
        name: form.get("name").to_string(),
        sort_order: if sort.is_empty() {
            0
        } else {
            sort.parse()
                .map_err(|_| Error::BadRequest("error.bad_form"))?
        },
    })
}

const CATEGORIES: &str = "/products/categories";

async fn category_create(
    State(s): State<AppState>,
    who: Need<ProductsWrite>,
    form: FormPairs,
) -> Result<Response> {
    let input = category_input(&form)?;
    match store::create_category(&s.db, &who.actor(), &input).await {
        Ok(_) => Ok(web::redirect_with_flash(
            CATEGORIES,
            "success",
            "category.created_flash",
            input.name.trim(),
        )),
        Err(e @ (Error::Validation(_) | Error::Conflict(_))) => Ok(web::redirect_with_flash(
            CATEGORIES,
            "error",
            first_key(&e),
            "",
        )),
        Err(e) => Err(e),
    }
}

async fn category_rename(
    State(s): State<AppState>,
    who: Need<ProductsWrite>,
    Path(id): Path<i64>,
    form: FormPairs,
) -> Result<Response> {
    let input = category_input(&form)?;
    match store::rename_category(&s.db, &who.actor(), id, &input).await {
        Ok(()) => Ok(web::redirect_with_flash(
            CATEGORIES,
            "success",
            "common.saved",
            "",
        )),
        Err(e @ (Error::Validation(_) | Error::Conflict(_))) => Ok(web::redirect_with_flash(
            CATEGORIES,
            "error",
            first_key(&e),
            "",
        )),
        Err(e) => Err(e),
    }
}

async fn category_delete(
    State(s): State<AppState>,
    who: Need<ProductsWrite>,
    ctx: PageCtx,
    Path(id): Path<i64>,
    form: FormPairs,
) -> Result<Response> {
    let c = store::category(&s.db, id).await?;
    if !form.confirmed() {
        let msg = ctx.tf("category.confirm_delete", &[("name", &c.name)]);
        return Ok(web::confirm(
            ctx,
            msg,
            &format!("/products/categories/{id}/delete"),
            vec![],
            CATEGORIES,
            "common.delete",
        ));
    }
    match store::delete_category(&s.db, &who.actor(), id).await {
        Ok(()) => Ok(web::redirect_with_flash(
            CATEGORIES,
            "success",
            "category.deleted_flash",
            &c.name,
        )),
        Err(Error::Conflict(key)) => Ok(web::redirect_with_flash(CATEGORIES, "error", key, "")),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use crate::web::image_kind;

    #[test]
    fn pictures_are_known_by_their_first_bytes() {
        assert_eq!(image_kind(b"\x89PNG\r\n\x1a\nrest").unwrap().0, "png");
        assert_eq!(
            image_kind(&[0xFF, 0xD8, 0xFF, 0xE0]).unwrap().1,
            "image/jpeg"
        );
        assert_eq!(image_kind(b"RIFF\0\0\0\0WEBPVP8 ").unwrap().0, "webp");
        assert!(image_kind(b"GIF89a").is_none());
        assert!(image_kind(b"<svg xmlns=").is_none());
        assert!(image_kind(b"RIFF\0\0\0\0WAVE").is_none());
    }
}
