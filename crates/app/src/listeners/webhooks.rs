//! Every event an active webhook subscribes to enqueues a delivery job in the transaction that
//! records the event, so none is lost or sent twice.

use opora_domain::event::Event;
use opora_store::webhooks;

use super::Listener;
use crate::Unit;
use crate::jobs::JobPayload;
use crate::webhooks::WebhookDelivery;

pub struct Deliveries;

impl Listener for Deliveries {
    fn name(&self) -> &'static str {
        "webhooks"
    }

    fn on_event(&self, unit: &mut Unit<'_, '_>, event: &Event) -> opora_store::Result<()> {
        if unit.webhooks.is_none() {
            unit.webhooks = Some(webhooks::active(unit.conn())?);
        }
        let hooks = unit.webhooks.take().unwrap_or_default();
        let mut result = Ok(());
        for hook in hooks.iter().filter(|h| h.wants(event.kind())) {
            let job = WebhookDelivery { webhook_id: hook.id, event_id: event.id }
                .job()
                .unique(format!("webhook:{}:{}", hook.id, event.id))
                .attempts(10);
            if let Err(e) = unit.enqueue(job) {
                result = Err(e);
                break;
            }
        }
        unit.webhooks = Some(hooks);
        result
    }
}
