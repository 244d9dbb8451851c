//! The API's own documentation: the OpenAPI 3 document at `/api/v1/openapi.json` and a readable
//! page at `/api/docs` rendered from it on the server (no CDN, works air-gapped).

use axum::Json;
use axum::extract::State;
use axum::response::Html;
use opora_domain::agent::Language;
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

use crate::AppState;
use crate::error::{ApiResult, CODES};

/// An error, as `application/problem+json` (RFC 9457) with Opora's stable `code`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A link to this code's documentation.
    #[serde(rename = "type")]
    pub kind: String,
    /// A short human-readable summary, in the caller's language (Accept-Language, else the agent's).
    pub title: String,
    pub status: u16,
    /// The stable code, e.g. `validation_failed`, `case_not_found`, `invalid_status_transition`.
    pub code: String,
    /// For validation errors: each field at fault.
    pub fields: Option<Vec<ProblemField>>,
    /// How many more fields were at fault than are listed (at most 100 are).
    pub fields_omitted: Option<u64>,
    pub request_id: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProblemField {
    /// A dotted path: `subject`, `customer.email`, `custom_fields.order_no`.
    pub field: String,
    /// `required`, `too_long`, `invalid_email`, `invalid_choice`, `unknown_field`, …
    pub code: String,
    pub message: String,
    #[schema(value_type = Option<Object>)]
    pub params: Option<Value>,
}

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("An API token: `opora token create` or POST /api/v1/tokens"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "opora_session",
                "The UI's session cookie; unsafe requests also need X-CSRF-Token",
            ))),
        );
        openapi.security = Some(vec![
            utoipa::openapi::security::SecurityRequirement::new("bearer", Vec::<String>::new()),
            utoipa::openapi::security::SecurityRequirement::new("session", Vec::<String>::new()),
        ]);
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Opora API", description = "Customer care: cases, messages, customers, agents. Errors are problem+json with a stable `code`; lists are `{items, next_cursor}`."),
    components(schemas(Problem, ProblemField)),
    modifiers(&Security),
)]
pub struct ApiDoc;

const PUBLIC: &[&str] = &["/healthz", "/api/v1/auth/login", "/api/v1/channels/{id}/inbound", "/hooks/{kind}/{channel_id}"];

fn problem_content() -> Value {
    json!({"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}})
}

/// Completes the generated document with what every operation shares, so it matches what the
/// server answers: errors are `application/problem+json`; protected operations may answer 401
/// and 403, operations on a resource 404, operations taking input 422; ids are positive.
pub fn apply_conventions(spec: &mut Value) {
    let inputs = input_schemas(spec);
    if let Some(schemas) = spec.pointer_mut("/components/schemas").and_then(Value::as_object_mut) {
        for (_, schema) in schemas.iter_mut().filter(|(name, _)| inputs.contains(*name)) {
            exact_properties(schema);
        }
    }
    crate::contract::apply(spec);
    let Some(paths) = spec["paths"].as_object_mut() else { return };
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else { continue };
        for (method, operation) in item.iter_mut() {
            let writes = method != "get";
            let has_body = operation.get("requestBody").is_some();
            let takes_input = has_body || operation["parameters"].as_array().is_some_and(|p| p.iter().any(|p| p["in"] == "query"));
            // `get_mut`, not indexing: indexing a JSON object mutably inserts a null member.
            if let Some(parameters) = operation.get_mut("parameters").and_then(Value::as_array_mut) {
                for parameter in parameters.iter_mut().filter(|p| p["in"] == "path" && p["schema"]["type"] == "integer") {
                    parameter["schema"]["minimum"] = json!(1);
                }
            }
            let Some(responses) = operation["responses"].as_object_mut() else { continue };
            for response in responses.values_mut() {
                if response.pointer("/content/application~1json/schema/$ref").and_then(Value::as_str)
                    == Some("#/components/schemas/Problem")
                {
                    response["content"] = problem_content();
                }
            }
            let mut add = |status: &str, description: &str| {
                responses.entry(status.to_owned()).or_insert_with(|| json!({"description": description, "content": problem_content()}));
            };
            if !PUBLIC.contains(&path.as_str()) {
                add("401", "Missing or invalid credentials");
                add("403", "The caller's role may not do this");
            }
            if path.contains('{') {
                add("404", "No such resource");
            }
            if takes_input {
                add("422", "Invalid input; `fields` names each field at fault");
            }
            if writes && !PUBLIC.contains(&path.as_str()) {
                add("409", "Conflicts with the current state (a closed case, a taken name)");
            }
            if has_body {
                add("413", "The request is larger than allowed");
                add("415", "The body is not JSON");
            }
            add("400", "Malformed request");
            add("500", "Unexpected server error");
        }
    }
}

/// The schemas request bodies use, directly or inside one another (answers keep theirs: an
/// error may name the field `""`).
fn input_schemas(spec: &Value) -> std::collections::HashSet<String> {
    fn refs(value: &Value, found: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                if let Some(name) = map.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix("#/components/schemas/")) {
                    found.push(name.to_owned());
                }
                map.values().for_each(|v| refs(v, found));
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, found)),
            _ => {}
        }
    }
    let mut pending = Vec::new();
    for item in spec["paths"].as_object().into_iter().flat_map(|paths| paths.values()) {
        for operation in item.as_object().into_iter().flat_map(|ops| ops.values()) {
            refs(&operation["requestBody"], &mut pending);
        }
    }
    let mut seen = std::collections::HashSet::new();
    while let Some(name) = pending.pop() {
        if seen.insert(name.clone()) {
            refs(&spec["components"]["schemas"][name.as_str()], &mut pending);
        }
    }
    seen
}

/// What the server checks of every body, said in the schema: a required field is never null and,
/// when text, never empty; an id (`id`, `…_id`, `ids`, `…_ids`) is at least 1.
fn exact_properties(schema: &mut Value) {
    let required: Vec<String> =
        schema["required"].as_array().map(|r| r.iter().filter_map(|n| n.as_str().map(str::to_owned)).collect()).unwrap_or_default();
    let Some(properties) = schema.get_mut("properties").and_then(Value::as_object_mut) else { return };
    for (name, property) in properties.iter_mut() {
        if required.contains(name) {
            not_null(property);
            if property["type"] == "string" && property.get("minLength").is_none() && property.get("format").is_none() {
                property["minLength"] = json!(1);
            }
        }
        let is_id = name == "id" || name.ends_with("_id");
        let is_ids = name == "ids" || name.ends_with("_ids");
        if is_id && type_includes(property, "integer") {
            property["minimum"] = json!(1);
        }
        if is_ids && let Some(items) = property.get_mut("items").filter(|i| i["type"] == "integer") {
            items["minimum"] = json!(1);
        }
    }
}

fn type_includes(property: &Value, wanted: &str) -> bool {
    property["type"] == wanted || property["type"].as_array().is_some_and(|t| t.iter().any(|t| t == wanted))
}

/// `["string", "null"]` becomes `"string"`; `oneOf: [X, {type: null}]` becomes X.
pub(crate) fn not_null(property: &mut Value) {
    if let Some(types) = property["type"].as_array() {
        let kept: Vec<Value> = types.iter().filter(|t| *t != "null").cloned().collect();
        if kept.len() == 1 {
            property["type"] = kept[0].clone();
        } else {
            property["type"] = Value::Array(kept);
        }
    }
    let alternatives =
        property.get("oneOf").and_then(Value::as_array).map(|all| all.iter().filter(|a| a["type"] != "null").cloned().collect::<Vec<_>>());
    if let Some(kept) = alternatives
        && kept.len() == 1
        && let Some(object) = property.as_object_mut()
    {
        object.remove("oneOf");
        if let Some(only) = kept[0].as_object() {
            for (key, value) in only {
                object.insert(key.clone(), value.clone());
            }
        }
    }
}

pub async fn openapi_json(State(state): State<AppState>) -> Json<Value> {
    Json((*state.openapi).clone())
}

#[derive(Serialize)]
struct Operation {
    method: String,
    path: String,
    summary: String,
    description: String,
    parameters: Vec<Value>,
    body: Option<String>,
    body_fields: Vec<Value>,
    responses: Vec<(String, String)>,
}

fn schema_name(value: &Value) -> Option<String> {
    let reference = value
        .pointer("/content/application~1json/schema/$ref")
        .or_else(|| value.pointer("/content/application~1json/schema/items/$ref"))?;
    reference.as_str()?.rsplit('/').next().map(str::to_owned)
}

/// Groups the OpenAPI document's operations by tag, for the template.
fn operations(spec: &Value) -> Vec<(String, Vec<Operation>)> {
    let mut groups: Vec<(String, Vec<Operation>)> = Vec::new();
    let Some(paths) = spec["paths"].as_object() else {
        return groups;
    };
    for (path, item) in paths {
        let Some(item) = item.as_object() else {
            continue;
        };
        for (method, op) in item {
            let tag = op["tags"][0].as_str().unwrap_or("other").to_owned();
            let body = schema_name(&op["requestBody"]);
            let body_fields = body
                .as_ref()
                .and_then(|name| spec["components"]["schemas"][name]["properties"].as_object())
                .map(|props| {
                    props.iter().map(|(k, v)| json!({"name": k, "description": v["description"].as_str().unwrap_or("")})).collect()
                })
                .unwrap_or_default();
            let responses = op["responses"]
                .as_object()
                .map(|r| r.iter().map(|(status, resp)| (status.clone(), schema_name(resp).unwrap_or_default())).collect())
                .unwrap_or_default();
            let operation = Operation {
                method: method.to_uppercase(),
                path: path.clone(),
                summary: op["summary"].as_str().unwrap_or("").to_owned(),
                description: op["description"].as_str().unwrap_or("").to_owned(),
                parameters: op["parameters"].as_array().cloned().unwrap_or_default(),
                body,
                body_fields,
                responses,
            };
            match groups.iter_mut().find(|(t, _)| *t == tag) {
                Some((_, ops)) => ops.push(operation),
                None => groups.push((tag, vec![operation])),
            }
        }
    }
    groups
}

pub async fn page(State(state): State<AppState>) -> ApiResult<Html<String>> {
    let codes: Vec<Value> = CODES
        .iter()
        .map(|(code, status)| {
            json!({"code": code, "status": status,
                   "ru": state.i18n.t(Language::Ru, &format!("error-{code}")),
                   "en": state.i18n.t(Language::En, &format!("error-{code}"))})
        })
        .collect();
    let context = json!({"groups": operations(&state.openapi), "codes": codes, "version": env!("CARGO_PKG_VERSION")});
    Ok(Html(state.templates.render("docs.html", &context)?))
}

/// Documents a string field by the values a domain enum accepts, read from the enum itself so
/// the document cannot drift from the code.
macro_rules! choice_schema {
    ($($doc:ident => $domain:ty),* $(,)?) => {$(
        pub struct $doc;

        impl utoipa::PartialSchema for $doc {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                let values: Vec<&str> = <$domain>::ALL.iter().map(|v| v.as_str()).collect();
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .enum_values(Some(values))
                    .into()
            }
        }

        impl utoipa::ToSchema for $doc {}
    )*};
}

/// The kinds whose providers push to `/hooks/{kind}/…`.
pub struct HookKindChoice;

impl utoipa::PartialSchema for HookKindChoice {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        let values: Vec<&str> = crate::api::hooks::HOOK_KINDS.iter().map(|v| v.as_str()).collect();
        utoipa::openapi::schema::ObjectBuilder::new().schema_type(utoipa::openapi::schema::Type::String).enum_values(Some(values)).into()
    }
}

impl utoipa::ToSchema for HookKindChoice {}

fn string_schema(max: usize, pattern: String) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .min_length(Some(1))
        .max_length(Some(max))
        .pattern(Some(pattern))
        .into()
}

/// A step of a playbook's checklist: one visible line.
pub struct ChecklistStep;

impl utoipa::PartialSchema for ChecklistStep {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        string_schema(300, crate::contract::line())
    }
}

impl utoipa::ToSchema for ChecklistStep {}

/// A key: lower-case Latin letters, digits and `_`, starting with a letter (a rating reason, a
/// category).
pub struct KeyText;

impl utoipa::PartialSchema for KeyText {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        string_schema(50, crate::contract::KEY.to_owned())
    }
}

impl utoipa::ToSchema for KeyText {}

/// What the business system may report about an order: `delay`, `shortage` or `defect` (the
/// passing of the expected time is noticed by Opora itself).
pub struct DelayChoice;

impl utoipa::PartialSchema for DelayChoice {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .enum_values(Some(["delay", "shortage", "defect"]))
            .into()
    }
}

impl utoipa::ToSchema for DelayChoice {}

/// Who a survey goes to.
pub struct AudienceChoice;

impl utoipa::PartialSchema for AudienceChoice {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .enum_values(Some(opora_domain::survey::Audience::KINDS))
            .into()
    }
}

impl utoipa::ToSchema for AudienceChoice {}

choice_schema! {
    StatusChoice => opora_domain::case::Status,
    PriorityChoice => opora_domain::case::Priority,
    KindChoice => opora_domain::case::CaseKind,
    ChannelChoice => opora_domain::channel::ChannelKind,
    RoleChoice => opora_domain::agent::Role,
    LanguageChoice => opora_domain::agent::Language,
    CaseAccessChoice => opora_domain::access::CaseAccess,
    IdentityChoice => opora_domain::customer::IdentityKind,
    FieldTypeChoice => opora_domain::field::FieldType,
    CompensationChoice => opora_domain::compensation::CompensationKind,
    OutcomeChoice => opora_domain::playbook::Outcome,
    SecurityChoice => opora_app::channels::Security,
    RawStatusChoice => opora_domain::channel::PayloadStatus,
    ChannelStateChoice => opora_domain::channel::ChannelState,
}
