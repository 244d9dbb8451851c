//! What admins and supervisors set up for everyone: custom fields and reply templates.

use opora_domain::event::{Actor, ChangeAction, CustomFieldChanged, EventData};
use opora_domain::field::FieldDefinition;
use opora_domain::{AgentId, DomainError};
use opora_store::fields;
use opora_store::templates;

pub use opora_store::fields::FieldSpec;
pub use opora_store::templates::ReplyTemplate;

use crate::{App, Result, Unit};

fn field_event(u: &mut Unit<'_, '_>, key: &str, action: ChangeAction, actor: Actor) -> opora_store::Result<()> {
    u.emit(None, None, actor, EventData::CustomFieldChanged(CustomFieldChanged { key: key.to_owned(), action })).map(|_| ())
}

pub struct Settings<'a>(&'a App);

impl App {
    pub fn settings(&self) -> Settings<'_> {
        Settings(self)
    }
}

impl Settings<'_> {
    pub async fn fields(&self) -> Result<Vec<FieldDefinition>> {
        self.0.read(fields::list).await
    }

    pub async fn create_field(&self, actor: Actor, spec: FieldSpec) -> Result<FieldDefinition> {
        self.0
            .write(move |u| {
                let definition = fields::insert(u.tx(), &spec)?;
                field_event(u, &spec.key, ChangeAction::Created, actor)?;
                Ok(definition)
            })
            .await
    }

    /// Changes a definition's labels, options and flags; the key and the type stay, since stored
    /// values depend on them.
    pub async fn update_field(&self, actor: Actor, key: String, spec: FieldSpec) -> Result<FieldDefinition> {
        self.0
            .write(move |u| {
                let before = fields::get(u.conn(), &key)?;
                if spec.field_type != before.field_type {
                    return Err(DomainError::field("field_type", "immutable").into());
                }
                let definition = fields::update(u.tx(), &key, &spec)?;
                field_event(u, &key, ChangeAction::Updated, actor)?;
                Ok(definition)
            })
            .await
    }

    /// Removes a definition. Values already stored on cases stay in their history.
    pub async fn delete_field(&self, actor: Actor, key: String) -> Result<()> {
        self.0
            .write(move |u| {
                fields::delete(u.tx(), &key)?;
                field_event(u, &key, ChangeAction::Deleted, actor)
            })
            .await
    }

    pub async fn templates(&self) -> Result<Vec<ReplyTemplate>> {
        self.0.read(templates::list).await
    }

    pub async fn template(&self, id: i64) -> Result<ReplyTemplate> {
        self.0.read(move |conn| templates::get(conn, id)).await
    }

    pub async fn create_template(&self, author: AgentId, name: String, body: String, position: i64) -> Result<ReplyTemplate> {
        self.0.write(move |u| templates::create(u.tx(), &name, &body, position, author)).await
    }

    pub async fn update_template(&self, id: i64, name: String, body: String, position: i64) -> Result<ReplyTemplate> {
        self.0.write(move |u| templates::update(u.tx(), id, &name, &body, position)).await
    }

    pub async fn delete_template(&self, id: i64) -> Result<()> {
        self.0.write(move |u| templates::delete(u.tx(), id)).await
    }
}
