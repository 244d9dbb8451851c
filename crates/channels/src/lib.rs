//! Channel drivers: receive (raw payload → normalised inbound message) and send (outbound
//! message → provider id and delivery status). They know the protocols, not the database: what
//! they receive they hand to a sink the binary provides.

pub mod email;
pub mod webhook;
