//! Event listeners: what an event sets off inside the transaction that records it. Each is
//! registered once, here; the webhooks and the notifications are the first, rules, ratings and
//! conflict posts will join them. The live stream is not a listener: it follows the event log
//! after commit, on every node.

mod notifications;
mod webhooks;

use opora_domain::event::Event;

use crate::Unit;

pub trait Listener: Send + Sync {
    /// For logs: which listener failed.
    fn name(&self) -> &'static str;

    /// Acts on a recorded event; an error rolls back the whole change.
    fn on_event(&self, unit: &mut Unit<'_, '_>, event: &Event) -> opora_store::Result<()>;
}

pub struct Listeners(Vec<Box<dyn Listener>>);

impl Listeners {
    /// The listeners every installation runs.
    pub fn standard() -> Self {
        Listeners(vec![
            Box::new(webhooks::Deliveries),
            Box::new(notifications::Notifications),
            Box::new(crate::care::ratings::AskWhenSolved),
            Box::new(crate::care::complaints::OurClients),
            Box::new(crate::care::complaints::ComplaintPlaybook),
        ])
    }

    pub fn iter(&self) -> impl Iterator<Item = &dyn Listener> {
        self.0.iter().map(|l| l.as_ref())
    }
}
