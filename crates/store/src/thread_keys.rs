//! Thread keys as rows: every key a message was received or sent under (an e-mail Message-ID,
//! an integration's message id), the ones a message referred to before we saw them, and each
//! conversation's ongoing case.

use opora_domain::channel::KeyKind;
use opora_domain::{CaseId, MessageId};

use crate::db::{Conn, Value, placeholders};
use crate::{Result, Tx};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Known {
    pub key: String,
    pub case_id: CaseId,
    pub message_row: Option<MessageId>,
    pub kind: KeyKind,
}

/// The stored keys among `keys`.
pub fn known(conn: &mut dyn Conn, keys: &[&str]) -> Result<Vec<Known>> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let params: Vec<Value<'_>> = keys.iter().map(|key| (*key).into()).collect();
    let sql = format!("select key, case_id, message_row, kind from thread_keys where key in ({})", placeholders(1, keys.len()));
    Ok(conn.all(&sql, &params, |r| {
        Ok(Known { key: r.get(0)?, case_id: r.get(1)?, message_row: r.get(2)?, kind: r.parse(3, KeyKind::parse)? })
    })?)
}

/// Records a key of a message we received or sent, or a conversation's case; a `reference`
/// row for the same key (its reply came first) becomes the real one, and a conversation moves
/// on to its newest case.
pub fn remember(tx: &mut Tx<'_>, key: &str, case: CaseId, message: Option<MessageId>, kind: KeyKind) -> Result<()> {
    let now = tx.now;
    let sql = match kind {
        KeyKind::Reference => {
            "insert into thread_keys (key, case_id, message_row, kind, created_at) values ($1, $2, $3, $4, $5) on conflict (key) do nothing"
        }
        _ => {
            "insert into thread_keys (key, case_id, message_row, kind, created_at) values ($1, $2, $3, $4, $5)
             on conflict (key) do update set case_id = excluded.case_id, message_row = excluded.message_row, kind = excluded.kind"
        }
    };
    tx.execute(sql, &[key.into(), case.into(), message.into(), kind.as_str().into(), now.into()])?;
    Ok(())
}

/// The keys of a case's conversation (its messages' and its conversation's), oldest first.
pub fn of_case(conn: &mut dyn Conn, case: CaseId) -> Result<Vec<(String, KeyKind)>> {
    Ok(conn.all(
        "select key, kind from thread_keys where case_id = $1 and kind <> 'reference' order by created_at, message_row",
        &[case.into()],
        |r| Ok((r.get(0)?, r.parse(1, KeyKind::parse)?)),
    )?)
}
