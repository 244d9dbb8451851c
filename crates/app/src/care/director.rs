//! "Write to the director": a public form whose letters go straight to a named manager, as a
//! complaint with a deadline of its own, bypassing the queue.

use opora_domain::agent::Language;
use opora_domain::case::{CaseKind, Priority};
use opora_domain::channel::ChannelKind;
use opora_domain::customer::IdentityKind;
use opora_domain::event::Actor;
use opora_domain::message::Body;
use opora_domain::{CaseId, DomainError};
use opora_store::agents;

use super::say;
use crate::cases::{NewCaseSpec, open_case};
use crate::customers::{self, CustomerRef};
use crate::{App, Result};

/// A letter from the form.
#[derive(Debug, Clone)]
pub struct Letter {
    pub name: String,
    /// An e-mail address or a phone number, already checked.
    pub contact: (IdentityKind, String),
    pub text: String,
    pub language: Language,
}

pub struct Director<'a>(&'a App);

impl App {
    pub fn director(&self) -> Director<'_> {
        Director(self)
    }
}

impl Director<'_> {
    /// Whether the form is open: a director is named in the configuration.
    pub fn open(&self) -> bool {
        !self.0.config().care.director_email.trim().is_empty()
    }

    /// Files the letter as a complaint owned by the director, due within their own deadline.
    pub async fn write(&self, letter: Letter) -> Result<CaseId> {
        self.0
            .write(move |u| {
                let care = u.config().care.clone();
                let director = agents::by_email(u.conn(), care.director_email.trim())?
                    .map(|(agent, _)| agent)
                    .filter(|agent| agent.active)
                    .ok_or(DomainError::NotFound("agent"))?;
                let reference = CustomerRef::Identities { identities: vec![letter.contact.clone()], name: Some(letter.name.clone()) };
                let (customer, _) = customers::identify(u, reference, Some(letter.language), Actor::SYSTEM)?;
                let preview: String = letter.text.chars().take(60).collect();
                let spec = NewCaseSpec {
                    subject: say(u, letter.language, "director-subject", &[("text", preview)]),
                    customer_id: customer,
                    kind: CaseKind::Complaint,
                    priority: Priority::High,
                    channel_kind: if letter.contact.0 == IdentityKind::Email { ChannelKind::Email } else { ChannelKind::Api },
                    channel_id: None,
                    team_id: None,
                    owner_id: Some(director.id),
                    category: Some("director".into()),
                    tags: Vec::new(),
                    custom_fields: Default::default(),
                    deadline_at: Some(u.now().plus_minutes(care.director_minutes)),
                    budget: None,
                };
                let case = open_case(u, spec, Actor::customer(customer))?;
                crate::messages::relay_inbound(u, case.id, Body { text: letter.text, html: None }, Vec::new(), None)?;
                Ok(case.id)
            })
            .await
    }
}
