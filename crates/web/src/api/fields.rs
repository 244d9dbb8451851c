//! `/api/v1/custom-fields`: fields admins add to cases (text, number, date, select).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use opora_app::settings::FieldSpec;
use opora_domain::FieldError;
use opora_domain::agent::Action;
use opora_domain::error::Errors;
use opora_domain::field::{FieldDefinition, FieldType, SelectOption};
use opora_domain::validate::{key, line};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OptionView {
    pub value: String,
    pub label_ru: String,
    pub label_en: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FieldView {
    pub key: String,
    pub label_ru: String,
    pub label_en: String,
    /// `text`, `number`, `date` or `select`.
    pub field_type: String,
    pub options: Vec<OptionView>,
    pub required: bool,
    pub position: i64,
}

impl From<&FieldDefinition> for FieldView {
    fn from(f: &FieldDefinition) -> Self {
        Self {
            key: f.key.clone(),
            label_ru: f.label_ru.clone(),
            label_en: f.label_en.clone(),
            field_type: f.field_type.as_str().into(),
            options: f
                .options
                .iter()
                .map(|o| OptionView { value: o.value.clone(), label_ru: o.label_ru.clone(), label_en: o.label_en.clone() })
                .collect(),
            required: f.required,
            position: f.position,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FieldInput {
    /// `order_no`: lower-case Latin letters, digits and `_`. Fixed once created.
    #[schema(required)]
    pub key: Option<String>,
    #[schema(required)]
    pub label_ru: Option<String>,
    #[schema(required)]
    pub label_en: Option<String>,
    #[schema(required, value_type = crate::docs::FieldTypeChoice)]
    pub field_type: Option<String>,
    #[serde(default)]
    pub options: Vec<OptionView>,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub position: i64,
}

fn parse(input: &FieldInput, key_from_path: Option<&str>) -> ApiResult<FieldSpec> {
    let mut errors = Errors::default();
    let key = match key_from_path {
        Some(k) => Some(k.to_owned()),
        None => errors.take(key("key", input.key.as_deref().unwrap_or(""))),
    };
    let label_ru = errors.take(line("label_ru", input.label_ru.as_deref().unwrap_or(""), 1, 100));
    let label_en = errors.take(line("label_en", input.label_en.as_deref().unwrap_or(""), 1, 100));
    let field_type = errors.take(FieldType::parse_field("field_type", input.field_type.as_deref().unwrap_or("")));
    if field_type == Some(FieldType::Select) && input.options.is_empty() {
        errors.push(FieldError::required("options"));
    }
    if input.options.len() > 200 {
        errors.push(FieldError::new("options", "too_many").with("max", 200));
    }
    for (i, option) in input.options.iter().enumerate() {
        errors.take(line(&format!("options.{i}.value"), &option.value, 1, 100));
        errors.take(line(&format!("options.{i}.label_ru"), &option.label_ru, 1, 100));
        errors.take(line(&format!("options.{i}.label_en"), &option.label_en, 1, 100));
    }
    errors.finish()?;
    let (Some(key), Some(label_ru), Some(label_en), Some(field_type)) = (key, label_ru, label_en, field_type) else {
        return Err(ApiError::new("validation_failed"));
    };
    let options = input
        .options
        .iter()
        .map(|o| SelectOption {
            value: o.value.trim().to_owned(),
            label_ru: o.label_ru.trim().to_owned(),
            label_en: o.label_en.trim().to_owned(),
        })
        .collect();
    Ok(FieldSpec { key, label_ru, label_en, field_type, options, required: input.required, position: input.position })
}

#[utoipa::path(get, path = "/api/v1/custom-fields", tag = "custom fields", responses((status = 200, body = Vec<FieldView>)))]
pub async fn list(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Vec<FieldView>>> {
    caller.require(Action::ReadCases)?;
    let definitions = state.app.settings().fields().await?;
    Ok(Json(definitions.iter().map(FieldView::from).collect()))
}

/// Define a custom field (admins only).
#[utoipa::path(post, path = "/api/v1/custom-fields", tag = "custom fields", request_body = FieldInput,
    responses((status = 201, body = FieldView), (status = 409, body = crate::docs::Problem), (status = 422, body = crate::docs::Problem)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(input): ApiJson<FieldInput>,
) -> ApiResult<(StatusCode, Json<FieldView>)> {
    caller.require(Action::ManageFields)?;
    let spec = parse(&input, None)?;
    let actor = caller.actor();
    let definition = state.app.settings().create_field(actor, spec).await?;
    Ok((StatusCode::CREATED, Json(FieldView::from(&definition))))
}

/// Change a field's labels, options, order or whether it is required (admins only).
#[utoipa::path(put, path = "/api/v1/custom-fields/{key}", tag = "custom fields", params(("key" = String, Path)), request_body = FieldInput,
    responses((status = 200, body = FieldView), (status = 404, body = crate::docs::Problem), (status = 422, body = crate::docs::Problem)))]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(field_key): Path<String>,
    ApiJson(input): ApiJson<FieldInput>,
) -> ApiResult<Json<FieldView>> {
    caller.require(Action::ManageFields)?;
    if input.key.as_deref().is_some_and(|k| k != field_key) {
        return Err(ApiError::field("key", "immutable"));
    }
    let spec = parse(&input, Some(&field_key))?;
    let actor = caller.actor();
    let definition = state.app.settings().update_field(actor, field_key, spec).await?;
    Ok(Json(FieldView::from(&definition)))
}

/// Remove a field (admins only).
#[utoipa::path(delete, path = "/api/v1/custom-fields/{key}", tag = "custom fields", params(("key" = String, Path)),
    responses((status = 204), (status = 404, body = crate::docs::Problem)))]
pub async fn delete(State(state): State<AppState>, caller: Caller, Path(field_key): Path<String>) -> ApiResult<StatusCode> {
    caller.require(Action::ManageFields)?;
    let actor = caller.actor();
    state.app.settings().delete_field(actor, field_key).await?;
    Ok(StatusCode::NO_CONTENT)
}
