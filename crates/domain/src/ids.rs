//! Newtype identifiers, so a customer id can never be passed where a case id is expected.

use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($($name:ident),* $(,)?) => {$(
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    )*};
}

id_type!(
    CaseId,
    MessageId,
    AttachmentId,
    CustomerId,
    IdentityId,
    AgentId,
    TeamId,
    EventId,
    JobId,
    TokenId,
    FieldId,
    CompensationId,
    WebhookId,
    ChannelId,
    PayloadId,
    OrderId,
    PerformerId,
    RatingId,
    PlaybookId,
    ExtraId,
    SurveyId,
);
