//! Channels: the configured connections, each served by the driver of its kind. Admins add,
//! change and check them here; the intake and the outbound job reach drivers through
//! [`Drivers`] only.

pub mod lmtp;
mod mailboxes;

use std::sync::Arc;

use opora_channels::Driver;
use opora_channels::driver::CheckStep;
use opora_domain::channel::{Channel, ChannelKind, ChannelState};
use opora_domain::event::{Actor, ChangeAction, ChannelBroken, ChannelChanged, EventData};
use opora_domain::validate::line;
use opora_domain::{ChannelId, DomainError, FieldError};
use opora_store::channels::{self, ChannelSpec};
use serde_json::Value;

pub use mailboxes::{
    Mail, Mailbox, MailboxInput, MailboxSettings, MailboxSpec, NO_SMTP_SERVER, Security, Server, ServerCheck, ServerInput,
};

use crate::{App, Error, Result, Unit};

/// The drivers, by kind: registered once (`opora_channels::drivers`), looked up by every use
/// case that needs a channel to act.
#[derive(Clone)]
pub struct Drivers(Vec<Arc<dyn Driver>>);

impl Drivers {
    pub fn new(drivers: Vec<Arc<dyn Driver>>) -> Self {
        Drivers(drivers)
    }

    pub fn of(&self, kind: ChannelKind) -> Option<&Arc<dyn Driver>> {
        self.0.iter().find(|d| d.kind() == kind)
    }

    /// The kinds a channel can be configured as.
    pub fn kinds(&self) -> Vec<ChannelKind> {
        self.0.iter().map(|d| d.kind()).collect()
    }
}

/// A channel as an admin describes it: its settings are the driver's to check.
#[derive(Debug, Clone)]
pub struct NewChannel {
    pub kind: ChannelKind,
    pub name: String,
    pub settings: Value,
    pub active: bool,
    pub is_default: bool,
}

/// A change of a channel; `None` leaves a property as it is. Settings are merged by the driver
/// over the current ones.
#[derive(Debug, Clone, Default)]
pub struct ChannelChange {
    pub name: Option<String>,
    pub settings: Option<Value>,
    pub active: Option<bool>,
    pub is_default: Option<bool>,
}

/// A channel with its settings as shown to admins (no secrets).
#[derive(Debug, Clone)]
pub struct ChannelView {
    pub channel: Channel,
    pub settings: Value,
}

fn changed(u: &mut Unit<'_, '_>, channel: &Channel, action: ChangeAction, actor: Actor) -> opora_store::Result<()> {
    let name = (action == ChangeAction::Created).then(|| channel.name.clone());
    let data = ChannelChanged { channel_id: channel.id, kind: channel.kind, action, name };
    u.emit(None, None, actor, EventData::ChannelChanged(data)).map(|_| ())
}

/// A provider refused the channel itself (a revoked token): it is marked broken and admins are
/// told once, not on every refused attempt.
pub(crate) fn mark_broken(u: &mut Unit<'_, '_>, id: ChannelId, reason: &str) -> opora_store::Result<()> {
    let channel = channels::get(u.conn(), id)?;
    channels::record_state(u.tx(), id, ChannelState::Broken, Some(reason))?;
    if channel.state != ChannelState::Broken {
        let data = ChannelBroken { channel_id: id, kind: channel.kind, name: channel.name, reason: reason.to_owned() };
        u.emit(None, None, Actor::SYSTEM, EventData::ChannelBroken(data))?;
    }
    Ok(())
}

fn check_name(name: &str) -> Result<String> {
    line("name", name, 1, 100).map_err(|e| Error::Domain(DomainError::Validation(vec![e])))
}

pub struct Channels<'a>(&'a App);

impl App {
    pub fn channels(&self) -> Channels<'_> {
        Channels(self)
    }
}

impl Channels<'_> {
    pub fn drivers(&self) -> &Drivers {
        &self.0.core.drivers
    }

    fn driver(&self, kind: ChannelKind) -> Result<&Arc<dyn Driver>> {
        self.drivers().of(kind).ok_or_else(|| {
            let allowed: Vec<&str> = self.drivers().kinds().iter().map(|k| k.as_str()).collect();
            DomainError::Validation(vec![FieldError::new("kind", "invalid_choice").with("allowed", allowed.join(", "))]).into()
        })
    }

    fn view(&self, channel: Channel) -> ChannelView {
        let settings = self.drivers().of(channel.kind).map_or(Value::Null, |d| d.public_settings(&channel.settings));
        ChannelView { channel, settings }
    }

    pub async fn list(&self) -> Result<Vec<ChannelView>> {
        let all = self.0.read(channels::list).await?;
        Ok(all.into_iter().map(|c| self.view(c)).collect())
    }

    pub async fn get(&self, id: ChannelId) -> Result<ChannelView> {
        let channel = self.0.read(move |conn| channels::get(conn, id)).await?;
        Ok(self.view(channel))
    }

    /// Adds a channel; returns it and what is shown only now (a generated signing secret).
    pub async fn create(&self, actor: Actor, new: NewChannel) -> Result<(ChannelView, Option<Value>)> {
        let driver = self.driver(new.kind)?.clone();
        let name = check_name(&new.name)?;
        let settings = driver.settings(&new.settings, None).map_err(|fields| Error::Domain(DomainError::Validation(fields)))?;
        let revealed = driver.reveal_once(&settings);
        let spec = ChannelSpec { kind: new.kind, name, settings, active: new.active, is_default: new.is_default };
        let channel = self
            .0
            .write(move |u| {
                let channel = channels::insert(u.tx(), &spec)?;
                changed(u, &channel, ChangeAction::Created, actor)?;
                Ok(channel)
            })
            .await?;
        Ok((self.view(channel), revealed))
    }

    pub async fn update(&self, actor: Actor, id: ChannelId, change: ChannelChange) -> Result<ChannelView> {
        let current = self.0.read(move |conn| channels::get(conn, id)).await?;
        let driver = self.driver(current.kind)?.clone();
        let name = match &change.name {
            Some(name) => check_name(name)?,
            None => current.name.clone(),
        };
        let settings = match &change.settings {
            Some(input) => {
                driver.settings(input, Some(&current.settings)).map_err(|fields| Error::Domain(DomainError::Validation(fields)))?
            }
            None => current.settings.clone(),
        };
        let is_default = change.is_default.unwrap_or(current.is_default);
        if current.is_default && !is_default {
            return Err(DomainError::field("is_default", "default_channel_required").into());
        }
        let spec = ChannelSpec { kind: current.kind, name, settings, active: change.active.unwrap_or(current.active), is_default };
        let channel = self
            .0
            .write(move |u| {
                let channel = channels::update(u.tx(), id, &spec)?;
                changed(u, &channel, ChangeAction::Updated, actor)?;
                Ok(channel)
            })
            .await?;
        Ok(self.view(channel))
    }

    /// Removes a channel nothing refers to; one with history can only be switched off.
    pub async fn delete(&self, actor: Actor, id: ChannelId) -> Result<()> {
        self.0
            .write(move |u| {
                let channel = channels::get(u.conn(), id)?;
                if channel.is_default {
                    return Err(DomainError::Conflict("default_channel_required").into());
                }
                if channels::in_use(u.conn(), id)? {
                    return Err(DomainError::Conflict("channel_in_use").into());
                }
                channels::delete(u.tx(), id)?;
                changed(u, &channel, ChangeAction::Deleted, actor)
            })
            .await
    }

    /// Tries the channel's connection now, as receiving and sending would.
    pub async fn check(&self, id: ChannelId) -> Result<Vec<CheckStep>> {
        let channel = self.0.read(move |conn| channels::get(conn, id)).await?;
        let driver = self.driver(channel.kind)?.clone();
        Ok(driver.check(&channel).await)
    }
}
