//! The one error type of the use-case layer: a domain error the caller can act on (with its
//! stable code and the fields at fault), or an internal failure whose cause is logged, never
//! shown.

use opora_domain::DomainError;
use opora_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error("internal: {0}")]
    Internal(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<StoreError> for Error {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Domain(domain) => Error::Domain(domain),
            other => Error::Internal(other.to_string()),
        }
    }
}

impl Error {
    pub fn internal(cause: impl Into<String>) -> Self {
        Error::Internal(cause.into())
    }
}
