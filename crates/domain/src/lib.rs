//! Opora's domain: cases, messages, customers, agents, compensations, custom fields and the rules
//! that govern them. Plain Rust with no I/O: the store persists what these types decide, the web
//! layer translates their errors.

pub mod access;
pub mod agent;
pub mod case;
pub mod change;
pub mod channel;
pub mod compensation;
pub mod customer;
mod entities;
pub mod error;
pub mod event;
pub mod field;
pub mod ids;
pub mod inbound;
pub mod message;
pub mod order;
pub mod outbound;
pub mod playbook;
pub mod rating;
pub mod status;
pub mod survey;
pub mod template;
pub mod text;
pub mod thread;
pub mod time;
pub mod validate;

pub use error::{DomainError, FieldError};
pub use ids::*;
pub use time::Timestamp;

/// Declares a closed set of values with a stable snake_case spelling used in the API, the database
/// and the translation keys alike.
#[macro_export]
macro_rules! string_enum {
    ($(#[$meta:meta])* pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($(#[$vmeta])* $variant),* }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),* }
            }

            pub fn parse(text: &str) -> Option<Self> {
                match text { $($text => Some($name::$variant),)* _ => None }
            }

            /// Parses an input field, naming the allowed values when it does not match.
            pub fn parse_field(field: &str, text: &str) -> Result<Self, $crate::FieldError> {
                Self::parse(text.trim()).ok_or_else(|| {
                    $crate::FieldError::new(field, "invalid_choice")
                        .with("allowed", Self::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", "))
                })
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                Self::parse(&text).ok_or_else(|| serde::de::Error::unknown_variant(&text, &[$($text),*]))
            }
        }
    };
}
