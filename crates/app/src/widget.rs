//! The website chat widget's side of the product: who a visitor is (a credential the channel
//! signed), whether a page's origin may use the channel, what the visitor sees of their
//! conversation (their messages and the replies, never notes), whether anyone is online, and
//! their new messages, filed through the intake like any channel's.

use opora_channels::widget::{Settings, VISITOR_HEADER};
use opora_domain::channel::{Channel, ChannelKind};
use opora_domain::customer::IdentityKind;
use opora_domain::message::{Attachment, Message};
use opora_domain::{AttachmentId, ChannelId, CustomerId, DomainError, Timestamp};
use opora_store::{auth, channels, customers, messages};

use crate::intake::{Accepted, Refused};
use crate::{App, Error, Result};

/// How recently an agent must have been in the workspace for the widget to say "online".
const ONLINE_MS: i64 = 15 * 60 * 1000;
/// How much of their history a visitor's widget shows.
const HISTORY: i64 = 200;

pub struct WidgetDesk<'a>(&'a App);

impl App {
    pub fn widget(&self) -> WidgetDesk<'_> {
        WidgetDesk(self)
    }
}

/// What a visitor's widget shows.
pub struct Conversation {
    pub online: bool,
    pub messages: Vec<Message>,
    /// Who wrote the replies, by agent id.
    pub agents: Vec<(opora_domain::AgentId, String)>,
}

impl WidgetDesk<'_> {
    /// An active widget channel and its settings; anything else is not found.
    async fn channel(&self, id: ChannelId) -> Result<(Channel, Settings)> {
        let channel = self.0.read(move |conn| channels::get(conn, id)).await?;
        if channel.kind != ChannelKind::Widget || !channel.active {
            return Err(DomainError::NotFound("channel").into());
        }
        let settings = Settings::of(&channel).map_err(Error::internal)?;
        Ok((channel, settings))
    }

    /// Whether a page of `origin` may use the channel (the answer says so to the browser).
    pub async fn allows(&self, id: ChannelId, origin: Option<&str>) -> Result<bool> {
        let (_, settings) = self.channel(id).await?;
        Ok(origin.is_some_and(|o| settings.allows(o)))
    }

    async fn allowed(&self, id: ChannelId, origin: Option<&str>) -> Result<(Channel, Settings)> {
        let (channel, settings) = self.channel(id).await?;
        if !origin.is_some_and(|o| settings.allows(o)) {
            return Err(DomainError::Conflict("origin_not_allowed").into());
        }
        Ok((channel, settings))
    }

    /// A new visitor's credential (`{id}.{token}`).
    pub async fn new_visitor(&self, id: ChannelId, origin: Option<&str>) -> Result<String> {
        let (_, settings) = self.allowed(id, origin).await?;
        settings.new_visitor().map(|(_, credential)| credential).map_err(Error::internal)
    }

    /// The visitor a credential names, from an allowed page.
    pub async fn visitor(&self, id: ChannelId, origin: Option<&str>, credential: &str) -> Result<String> {
        let (_, settings) = self.allowed(id, origin).await?;
        settings.visitor(credential).ok_or_else(|| DomainError::NotFound("visitor").into())
    }

    /// The customer a visitor became when they first wrote.
    pub async fn customer(&self, visitor: &str) -> Result<Option<CustomerId>> {
        let visitor = visitor.to_owned();
        self.0.read(move |conn| customers::find_by_identity(conn, IdentityKind::Web, &visitor)).await
    }

    /// The visitor's conversation through this channel, and whether anyone is online.
    pub async fn conversation(&self, id: ChannelId, visitor: &str) -> Result<Conversation> {
        let visitor = visitor.to_owned();
        self.0
            .read(move |conn| {
                let now = Timestamp::now();
                let online = auth::agents_online(conn, now.plus_millis(-ONLINE_MS), now)?;
                let Some(customer) = customers::find_by_identity(conn, IdentityKind::Web, &visitor)? else {
                    return Ok(Conversation { online, messages: Vec::new(), agents: Vec::new() });
                };
                let messages = messages::seen_by_customer(conn, customer, id, HISTORY)?;
                let mut ids: Vec<_> = messages.iter().filter_map(|m| m.author_agent_id).collect();
                ids.sort();
                ids.dedup();
                let names = opora_store::names::load(conn, &ids, &[], false)?;
                let agents = ids.iter().map(|a| (*a, names.agent(*a).name)).collect();
                Ok(Conversation { online, messages, agents })
            })
            .await
    }

    /// A visitor's message, from an allowed page, filed like any channel's.
    pub async fn post(&self, id: ChannelId, origin: Option<&str>, credential: &str, body: Vec<u8>) -> Result<Accepted, Refused> {
        self.allowed(id, origin).await?;
        let headers = vec![(VISITOR_HEADER.to_owned(), credential.to_owned())];
        self.0.intake().accept(id, Some(ChannelKind::Widget), headers, body).await
    }

    /// A file of the visitor's conversation through this channel.
    pub async fn attachment(&self, id: ChannelId, visitor: &str, attachment: AttachmentId) -> Result<(Attachment, Vec<u8>)> {
        let visitor = visitor.to_owned();
        let found = self
            .0
            .read(move |conn| {
                let customer =
                    customers::find_by_identity(conn, IdentityKind::Web, &visitor)?.ok_or(DomainError::NotFound("attachment"))?;
                let (file, case, _) = messages::attachment(conn, attachment)?;
                let visible = messages::seen_by_customer(conn, customer, id, i64::MAX)?
                    .iter()
                    .any(|m| m.case_id == case && m.attachments.iter().any(|a| a.id == attachment));
                if visible { Ok(file) } else { Err(DomainError::NotFound("attachment").into()) }
            })
            .await?;
        let content = self.0.core.store.blobs().get(&found.sha256).await.map_err(|e| Error::internal(format!("blob: {e}")))?;
        Ok((found, content))
    }
}
