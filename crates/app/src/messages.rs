//! Messages of a case: an agent's reply (which goes out through the case's channel), an internal
//! note, a customer's message. Each has its own effect on the case — taking ownership and the
//! first response for a reply, reopening for the customer's message.

use opora_channels::driver::ApprovedTemplate;
use opora_domain::case::{ActingAgent, Case, Status};
use opora_domain::channel::Channel;
use opora_domain::channel::ChannelKind;
use opora_domain::event::{Actor, EventData, MessageAdded};
use opora_domain::message::Attachment;
use opora_domain::message::{Body, DeliveryStatus, Direction, Message};
use opora_domain::outbound::{Choice, TemplateUse};
use opora_domain::{AgentId, AttachmentId, CaseId, ChannelId, CustomerId, DomainError, FieldError, Timestamp};
use opora_store::db::Conn;
use opora_store::messages::{self, NewMessage};

pub use opora_store::messages::NewAttachment;
use opora_store::{cases, names};

use crate::channels::Drivers;
use crate::{App, Error, Names, Result, Unit};

/// Stores a message and records `message.added`.
pub(crate) fn add(u: &mut Unit<'_, '_>, case: &Case, new: NewMessage, actor: Actor) -> opora_store::Result<Message> {
    let message = messages::insert(u.tx(), case.id, &new)?;
    let data = MessageAdded {
        number: case.number,
        message_id: message.id,
        direction: message.direction,
        channel: message.channel_kind,
        preview: message.body_text.chars().take(200).collect(),
        attachments: message.attachments.len(),
    };
    u.emit(Some(case.id), Some(case.customer_id), actor, EventData::MessageAdded(data))?;
    Ok(message)
}

/// Stores an outbound message and queues it on the case's channel, when the case has one that
/// sends; otherwise (no channel, or a receive-only one) it stays on the case marked "not
/// applicable". No author: the system's. `choices` go under it where the channel shows buttons.
pub(crate) fn send(
    u: &mut Unit<'_, '_>,
    case: &Case,
    author: Option<AgentId>,
    body: Body,
    attachments: Vec<NewAttachment>,
    route: Option<Channel>,
    choices: Vec<Choice>,
) -> opora_store::Result<Message> {
    let receive_only = route.as_ref().is_some_and(|c| u.drivers().of(c.kind).is_some_and(|d| d.profile(c).receive_only));
    let channel_id = route.as_ref().map(|c| c.id);
    let channel_kind = route.as_ref().map_or(case.channel_kind, |c| c.kind);
    let channel = route.filter(|_| !receive_only);
    let new = NewMessage {
        direction: Direction::Outbound,
        channel_kind,
        channel_id,
        author_agent_id: author,
        author_customer_id: None,
        subject: None,
        body,
        attachments,
        external_id: None,
        delivery_status: if channel.is_some() { DeliveryStatus::Pending } else { DeliveryStatus::NotApplicable },
    };
    let actor = author.map_or(Actor::SYSTEM, Actor::agent);
    let mut message = add(u, case, new, actor)?;
    if let Some(channel) = &channel {
        message.external_id = crate::outbound::queue(u, case, channel, message.id, choices)?;
    }
    Ok(message)
}

fn touch_and_save(u: &mut Unit<'_, '_>, before: &Case, after: Case, actor: Actor) -> opora_store::Result<Case> {
    crate::cases::save(u, before, after, actor)?;
    cases::touch(u.tx(), before.id)?;
    cases::get(u.conn(), before.id)
}

/// Who a reply is copied to: the chosen people, each of whom must be in the conversation, or
/// everyone in it. A reply to more people than the limit needs the agent's confirmation.
fn copies(u: &mut Unit<'_, '_>, case: &Case, chosen: Option<Vec<CustomerId>>, confirmed: bool) -> opora_store::Result<Vec<CustomerId>> {
    let everyone: Vec<CustomerId> = cases::participants(u.conn(), case.id)?.into_iter().map(|(id, _)| id).collect();
    let copies = match chosen {
        None => everyone,
        Some(chosen) => {
            let strangers: Vec<FieldError> = chosen
                .iter()
                .enumerate()
                .filter(|(_, id)| !everyone.contains(id))
                .map(|(index, _)| FieldError::new(format!("copies.{index}"), "not_a_participant"))
                .collect();
            if !strangers.is_empty() {
                return Err(DomainError::Validation(strangers).into());
            }
            let mut unique = Vec::with_capacity(chosen.len());
            for id in chosen {
                if !unique.contains(&id) {
                    unique.push(id);
                }
            }
            unique
        }
    };
    let recipients = copies.len() + 1;
    if recipients > u.config().confirm_recipients_over && !confirmed {
        let error = FieldError::new("copies", "confirm_recipients").with("count", recipients);
        return Err(DomainError::Validation(vec![error]).into());
    }
    Ok(copies)
}

/// Whether free text reaches the customer now through a case's channel (WhatsApp: within 24
/// hours of their last message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyWindow {
    /// The channel limits free text at all.
    pub applies: bool,
    pub open: bool,
    /// When it closes (or closed); `None` when the customer never wrote through it.
    pub closes_at: Option<Timestamp>,
}

/// The reply window of a case through the channel a reply takes (`outbound::pick`), now.
pub(crate) fn reply_window(
    conn: &mut dyn Conn,
    drivers: &Drivers,
    case: &Case,
    route: Option<&Channel>,
    now: Timestamp,
) -> opora_store::Result<ReplyWindow> {
    let limit = route.and_then(|c| drivers.of(c.kind).and_then(|d| d.profile(c).reply_window_ms));
    Ok(match (limit, route) {
        (Some(limit), Some(channel)) => {
            let closes_at = messages::last_inbound_at(conn, case.id, channel.id)?.map(|at| at.plus_millis(limit));
            ReplyWindow { applies: true, open: closes_at.is_some_and(|at| at > now), closes_at }
        }
        _ => ReplyWindow { applies: false, open: true, closes_at: None },
    })
}

/// A template reply's text as the customer reads it: the approved body with its variables.
pub fn render_template(body: &str, variables: &[String]) -> String {
    variables.iter().enumerate().fold(body.to_owned(), |text, (index, value)| text.replace(&format!("{{{{{}}}}}", index + 1), value))
}

/// What the agent decided about a reply besides its text.
#[derive(Debug, Clone, Default)]
pub struct ReplyOptions {
    /// "Send and set status": the case's status after the reply.
    pub status_after: Option<Status>,
    /// Who it is copied to (each must be in the conversation); none: everyone in it.
    pub copies: Option<Vec<CustomerId>>,
    /// The agent confirmed a reply to many people.
    pub confirm_recipients: bool,
    /// Sent as this approved template (checked against the provider's list before the write).
    pub template: Option<TemplateUse>,
    /// Through this channel (one that reaches the customer); none: the one they wrote through
    /// last.
    pub channel: Option<ChannelId>,
}

/// An agent's reply to the customer. An unowned case becomes the replying agent's; the first
/// reply marks the first response; `status_after` is "send and set status". The reply leaves
/// through the case's channel when it has one, copied to whom the agent chose.
pub(crate) fn reply(
    u: &mut Unit<'_, '_>,
    id: CaseId,
    agent: ActingAgent,
    body: Body,
    attachments: Vec<NewAttachment>,
    options: ReplyOptions,
) -> opora_store::Result<(Message, Case)> {
    let case = crate::cases::access::editable(u, agent, id)?;
    reply_on(u, case, agent, body, attachments, options)
}

/// A reply on a case already checked (or just opened by this agent).
pub(crate) fn reply_on(
    u: &mut Unit<'_, '_>,
    mut case: Case,
    agent: ActingAgent,
    body: Body,
    attachments: Vec<NewAttachment>,
    options: ReplyOptions,
) -> opora_store::Result<(Message, Case)> {
    let status_after = options.status_after;
    let (drivers, now) = (u.drivers(), u.now());
    let route = crate::outbound::pick(u.conn(), drivers, &case, options.channel)?;
    // The window of the channel the reply takes, not of the one the case came by.
    if options.template.is_none() && !reply_window(u.conn(), drivers, &case, route.as_ref(), now)?.open {
        return Err(DomainError::Conflict("window_closed").into());
    }
    let copies = copies(u, &case, options.copies, options.confirm_recipients)?;
    let actor = Actor::agent(agent.id);
    if case.owner_id.is_none() {
        case = crate::cases::assign(u, &case, agent.id, actor)?;
    }
    if let Some(status) = status_after {
        case.status_change(status)?;
    }
    let asked = match &options.template {
        Some(_) => None,
        None => crate::care::ratings::ask_about_reply(u, &case, agent.id, route.as_ref())?,
    };
    let (rating, choices) = asked.map_or((None, Vec::new()), |(rating, choices)| (Some(rating), choices));
    let mut message = send(u, &case, Some(agent.id), body, attachments, route, choices)?;
    if let Some(rating) = rating {
        opora_store::ratings::set_message(u.tx(), rating, message.id)?;
    }
    if let Some(template) = &options.template {
        messages::set_template(u.tx(), message.id, template)?;
        message.template = Some(template.clone());
    }
    messages::set_copies(u.tx(), message.id, &copies)?;
    message.copies = Some(copies);
    let mut after = case.clone();
    after.first_response_at = after.first_response_at.or(Some(u.now()));
    after.status = case.status.after_reply(status_after);
    let after = touch_and_save(u, &case, after, actor)?;
    Ok((message, after))
}

/// An internal note: only agents see it. Anyone working cases may leave one, owner or not.
pub(crate) fn note(
    u: &mut Unit<'_, '_>,
    id: CaseId,
    agent: ActingAgent,
    body: Body,
    attachments: Vec<NewAttachment>,
) -> opora_store::Result<(Message, Case)> {
    let case = crate::cases::access::editable(u, agent, id)?;
    note_on(u, case, agent, body, attachments)
}

/// A note on a case already checked (or just opened by this agent).
pub(crate) fn note_on(
    u: &mut Unit<'_, '_>,
    case: Case,
    agent: ActingAgent,
    body: Body,
    attachments: Vec<NewAttachment>,
) -> opora_store::Result<(Message, Case)> {
    let new = NewMessage {
        direction: Direction::Internal,
        channel_kind: ChannelKind::Internal,
        channel_id: None,
        author_agent_id: Some(agent.id),
        author_customer_id: None,
        subject: None,
        body,
        attachments,
        external_id: None,
        delivery_status: DeliveryStatus::NotApplicable,
    };
    let actor = Actor::agent(agent.id);
    let message = add(u, &case, new, actor)?;
    let after = touch_and_save(u, &case, case.clone(), actor)?;
    Ok((message, after))
}

/// A customer's message arriving on a case: whatever was waiting or solved reopens. A closed
/// case cannot take messages; channels open a follow-up case instead.
pub(crate) fn inbound(u: &mut Unit<'_, '_>, id: CaseId, new: NewMessage, actor: Actor) -> opora_store::Result<(Message, Case)> {
    let case = cases::get(u.conn(), id)?;
    if case.status == Status::Closed {
        return Err(DomainError::CaseClosed.into());
    }
    let message = add(u, &case, new, actor)?;
    let mut after = case.clone();
    after.status = case.status.after_customer_message();
    let after = touch_and_save(u, &case, after, actor)?;
    Ok((message, after))
}

/// A customer's message relayed by an integration on the case's own channel kind.
pub(crate) fn relay_inbound(
    u: &mut Unit<'_, '_>,
    id: CaseId,
    body: Body,
    attachments: Vec<NewAttachment>,
    subject: Option<String>,
) -> opora_store::Result<(Message, Case)> {
    let case = cases::get(u.conn(), id)?;
    let new = NewMessage {
        direction: Direction::Inbound,
        channel_kind: case.channel_kind,
        channel_id: case.channel_id,
        author_agent_id: None,
        author_customer_id: Some(case.customer_id),
        subject,
        body,
        attachments,
        external_id: None,
        delivery_status: DeliveryStatus::NotApplicable,
    };
    inbound(u, id, new, Actor::customer(case.customer_id))
}

/// What an agent posts on a case.
#[derive(Debug, Clone)]
pub enum Post {
    Reply(ReplyOptions),
    Note,
    /// A customer's message relayed by an integration.
    Inbound,
}

pub struct Messages<'a>(&'a App);

impl App {
    pub fn messages(&self) -> Messages<'_> {
        Messages(self)
    }
}

fn names_of(conn: &mut dyn opora_store::db::Conn, messages: &[Message]) -> opora_store::Result<Names> {
    let agents: Vec<AgentId> = messages.iter().filter_map(|m| m.author_agent_id).collect();
    let customers: Vec<CustomerId> = messages.iter().filter_map(|m| m.author_customer_id).collect();
    names::load(conn, &agents, &customers, false)
}

impl Messages<'_> {
    /// Whether free text reaches the case's customer now, and (while it does not) the approved
    /// templates that do.
    pub async fn window(&self, reader: ActingAgent, case: CaseId) -> Result<(ReplyWindow, Vec<ApprovedTemplate>)> {
        let (rules, drivers) = (self.0.config().access, self.0.core.drivers.clone());
        let (window, channel) = self
            .0
            .read(move |conn| {
                let case = crate::cases::access::seen(conn, reader, case, rules)?;
                let route = crate::outbound::pick(conn, &drivers, &case, None)?;
                Ok((reply_window(conn, &drivers, &case, route.as_ref(), Timestamp::now())?, route))
            })
            .await?;
        // The provider is asked only when the list matters: while the window is closed.
        let templates = match channel.filter(|_| window.applies && !window.open) {
            Some(channel) => self.templates(&channel).await?,
            None => Vec::new(),
        };
        Ok((window, templates))
    }

    /// The channels a reply on the case can go through, the default (where the customer wrote
    /// last) first.
    pub async fn reply_channels(&self, reader: ActingAgent, case: CaseId) -> Result<Vec<Channel>> {
        let (rules, drivers) = (self.0.config().access, self.0.core.drivers.clone());
        self.0
            .read(move |conn| {
                let case = crate::cases::access::seen(conn, reader, case, rules)?;
                crate::outbound::routes(conn, &drivers, &case)
            })
            .await
    }

    async fn templates(&self, channel: &Channel) -> Result<Vec<ApprovedTemplate>> {
        let Some(driver) = self.0.core.drivers.of(channel.kind).cloned() else { return Ok(Vec::new()) };
        driver.templates(channel).await.map_err(|e| Error::internal(format!("the provider's templates: {e}")))
    }

    /// The text of a template reply, once the template is found approved with as many
    /// variables as given.
    async fn template_text(&self, acting: ActingAgent, case: CaseId, template: &TemplateUse, chosen: Option<ChannelId>) -> Result<String> {
        let (rules, drivers) = (self.0.config().access, self.0.core.drivers.clone());
        let channel = self
            .0
            .read(move |conn| {
                let case = crate::cases::access::seen(conn, acting, case, rules)?;
                crate::outbound::pick(conn, &drivers, &case, chosen)
            })
            .await?;
        let templates = match channel {
            Some(channel) => self.templates(&channel).await?,
            None => Vec::new(),
        };
        let found = templates.iter().find(|t| t.name == template.name && t.language == template.language);
        match found {
            Some(found) if found.variables == template.variables.len() => Ok(render_template(&found.body, &template.variables)),
            Some(found) => Err(DomainError::Validation(vec![
                FieldError::new("template.variables", "template_variables").with("expected", found.variables),
            ])
            .into()),
            None => Err(DomainError::Validation(vec![FieldError::new("template.name", "template_not_approved")]).into()),
        }
    }

    pub async fn post(
        &self,
        acting: ActingAgent,
        case: CaseId,
        post: Post,
        body: Option<Body>,
        attachments: Vec<NewAttachment>,
    ) -> Result<(Message, Names)> {
        let body = match (&post, body) {
            (Post::Reply(ReplyOptions { template: Some(template), channel, .. }), _) => {
                Body { text: self.template_text(acting, case, template, *channel).await?, html: None }
            }
            (_, Some(body)) => body,
            (_, None) => return Err(DomainError::Validation(vec![FieldError::required("body_text")]).into()),
        };
        self.0
            .write(move |u| {
                let (message, _) = match post {
                    Post::Reply(options) => reply(u, case, acting, body, attachments, options)?,
                    Post::Note => note(u, case, acting, body, attachments)?,
                    Post::Inbound => {
                        crate::cases::access::editable(u, acting, case)?;
                        relay_inbound(u, case, body, attachments, None)?
                    }
                };
                let names = names_of(u.conn(), std::slice::from_ref(&message))?;
                Ok((message, names))
            })
            .await
    }

    /// The conversation of a case, oldest first, with its authors' names.
    pub async fn of_case(&self, reader: ActingAgent, case: CaseId) -> Result<(Vec<Message>, Names)> {
        let rules = self.0.config().access;
        self.0
            .read(move |conn| {
                crate::cases::access::seen(conn, reader, case, rules)?;
                let found = messages::for_case(conn, case)?;
                let names = names_of(conn, &found)?;
                Ok((found, names))
            })
            .await
    }

    /// Keeps uploaded files (name, type, bytes) in the blob store, before the transaction that
    /// records them on a message.
    pub async fn keep_files(&self, files: Vec<(String, String, Vec<u8>)>) -> Result<Vec<NewAttachment>> {
        let mut kept = Vec::with_capacity(files.len());
        for (filename, content_type, content) in files {
            let size = content.len() as i64;
            let sha256 = self.0.core.store.blobs().put(content).await.map_err(|e| Error::internal(format!("blob store: {e}")))?;
            kept.push(NewAttachment { filename, content_type, size, sha256, content_id: None });
        }
        Ok(kept)
    }

    /// An attachment `reader` may see (one of a case they see), the case it belongs to, and
    /// its content.
    pub async fn attachment(&self, reader: ActingAgent, id: AttachmentId) -> Result<(Attachment, CaseId, Vec<u8>)> {
        let rules = self.0.config().access;
        let (attachment, case) = self
            .0
            .read(move |conn| {
                let (attachment, case, _) = messages::attachment(conn, id)?;
                if crate::cases::access::seen_or_none(conn, reader, case, rules)?.is_none() {
                    return Err(DomainError::NotFound("attachment").into());
                }
                Ok((attachment, case))
            })
            .await?;
        let content = self
            .0
            .core
            .store
            .blobs()
            .get(&attachment.sha256)
            .await
            .map_err(|e| Error::internal(format!("blob {}: {e}", attachment.sha256)))?;
        Ok((attachment, case, content))
    }
}
