//! Custom field definitions, managed by admins.

use opora_domain::field::{FieldDefinition, FieldType, SelectOption};
use opora_domain::{DomainError, FieldId};

use crate::db::{Conn, DbError, Row};
use crate::{Result, StoreError, Tx};

const COLUMNS: &str = "id, key, label_ru, label_en, field_type, options, required, position, created_at, updated_at";

fn from_row(r: &Row<'_>) -> Result<FieldDefinition, DbError> {
    let options: String = r.get(5)?;
    Ok(FieldDefinition {
        id: r.get(0)?,
        key: r.get(1)?,
        label_ru: r.get(2)?,
        label_en: r.get(3)?,
        field_type: r.parse(4, FieldType::parse)?,
        options: serde_json::from_str(&options).map_err(|e| DbError::new(format!("field options: {e}")))?,
        required: r.get(6)?,
        position: r.get(7)?,
        created_at: r.get(8)?,
        updated_at: r.get(9)?,
    })
}

pub fn list(conn: &mut dyn Conn) -> Result<Vec<FieldDefinition>> {
    Ok(conn.all(&format!("select {COLUMNS} from custom_fields order by position, id"), &[], from_row)?)
}

pub fn get(conn: &mut dyn Conn, key: &str) -> Result<FieldDefinition> {
    conn.opt(&format!("select {COLUMNS} from custom_fields where key = $1"), &[key.into()], from_row)?
        .ok_or_else(|| DomainError::NotFound("custom_field").into())
}

#[derive(Debug, Clone)]
pub struct FieldSpec {
    pub key: String,
    pub label_ru: String,
    pub label_en: String,
    pub field_type: FieldType,
    pub options: Vec<SelectOption>,
    pub required: bool,
    pub position: i64,
}

fn options_json(spec: &FieldSpec) -> Result<String> {
    serde_json::to_string(&spec.options).map_err(|e| StoreError::Io(e.to_string()))
}

pub fn insert(tx: &mut Tx<'_>, spec: &FieldSpec) -> Result<FieldDefinition> {
    let now = tx.now;
    let options = options_json(spec)?;
    tx.execute(
        "insert into custom_fields (key, label_ru, label_en, field_type, options, required, position, created_at, updated_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
        &[
            spec.key.as_str().into(),
            spec.label_ru.as_str().into(),
            spec.label_en.as_str().into(),
            spec.field_type.as_str().into(),
            options.as_str().into(),
            spec.required.into(),
            spec.position.into(),
            now.into(),
        ],
    )
    .map_err(|e| if e.unique_violation { DomainError::Conflict("custom_field_exists").into() } else { StoreError::from(e) })?;
    get(&mut **tx, &spec.key)
}

/// Replaces a definition's labels, options and flags; its key and type stay.
pub fn update(tx: &mut Tx<'_>, key: &str, spec: &FieldSpec) -> Result<FieldDefinition> {
    let before = get(&mut **tx, key)?;
    let now = tx.now;
    let options = options_json(spec)?;
    tx.execute(
        "update custom_fields set label_ru = $2, label_en = $3, options = $4, required = $5, position = $6, updated_at = $7 where id = $1",
        &[
            before.id.into(),
            spec.label_ru.as_str().into(),
            spec.label_en.as_str().into(),
            options.as_str().into(),
            spec.required.into(),
            spec.position.into(),
            now.into(),
        ],
    )?;
    get(&mut **tx, key)
}

/// Removes a definition. Values already stored on cases stay in their history.
pub fn delete(tx: &mut Tx<'_>, key: &str) -> Result<FieldId> {
    let before = get(&mut **tx, key)?;
    tx.execute("delete from custom_fields where id = $1", &[before.id.into()])?;
    Ok(before.id)
}
