//! The demo's e-mail: a handful of real-looking messages stored raw, exactly as if an MTA had
//! delivered them, so the running server files them the way it files any mail — a KOI8-R
//! complaint, a reply-all from another family member, an HTML question from a SaaS customer,
//! an auto-reply, and one unreadable message waiting in quarantine.

use opora_app::App;
use opora_app::channels::{MailboxSettings as Settings, MailboxSpec};
use opora_domain::channel::PayloadSource;
use opora_domain::event::Actor;

pub const ADDRESS: &str = "support@demo.opora.dev";

fn head(lines: &[String]) -> Vec<u8> {
    format!("{}\r\nDate: Sun, 22 Nov 2026 09:30:00 +0300\r\nMIME-Version: 1.0\r\n", lines.join("\r\n")).into_bytes()
}

fn messages() -> Vec<Vec<u8>> {
    let complaint_body = "Здравствуйте!\r\nВчера после уборки на диване остались пятна от химии. Мастер сказал, что так и должно быть.\r\nПрошу прислать кого-нибудь исправить или вернуть деньги за заказ 7781.\r\nВера";
    let mut complaint = head(&[
        "From: =?koi8-r?b?98XSwSDv0szP18E=?= <vera.orlova@example.ru>".into(),
        format!("To: =?utf-8?b?0JrQu9C40L3QuNC90LMg0J/Qu9GO0YE=?= <{ADDRESS}>"),
        "Cc: =?utf-8?b?0JDQvdC00YDQtdC5INCe0YDQu9C+0LI=?= <andrey.orlov@example.ru>".into(),
        "Subject: =?koi8-r?b?8NHUzsEgzsEgxMnXwc7FINDP08zFINXCz9LLyQ==?=".into(),
        "Message-ID: <demo-complaint-7781@example.ru>".into(),
        "Content-Type: text/plain; charset=koi8-r".into(),
        "Content-Transfer-Encoding: 8bit".into(),
    ]);
    complaint.extend_from_slice(b"\r\n");
    complaint.extend_from_slice(&encoding_rs::KOI8_R.encode(complaint_body).0);
    complaint.extend_from_slice(b"\r\n");

    let reply = [
        "From: =?utf-8?b?0JDQvdC00YDQtdC5INCe0YDQu9C+0LI=?= <andrey.orlov@example.ru>".to_owned(),
        format!("To: <{ADDRESS}>"),
        "Cc: vera.orlova@example.ru".into(),
        "Subject: =?utf-8?b?UmU6INCf0Y/RgtC90LAg0L3QsCDQtNC40LLQsNC90LUg0L/QvtGB0LvQtSDRg9Cx0L7RgNC60Lg=?=".into(),
        "Message-ID: <demo-reply-7781@example.ru>".into(),
        "In-Reply-To: <demo-complaint-7781@example.ru>".into(),
        "References: <demo-complaint-7781@example.ru>".into(),
        "Content-Type: multipart/mixed; boundary=\"demo-b1\"".into(),
    ];
    let mut reply = head(&reply);
    reply.extend_from_slice(
        "\r\n--demo-b1\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\
         Добавлю: пятна не отмываются. Список того, что случилось, во вложении.\r\nАндрей\r\n\
         --demo-b1\r\nContent-Type: text/plain; charset=utf-8; name=\"=?utf-8?b?0L/RgNC+0YLQvtC60L7Quy50eHQ=?=\"\r\n\
         Content-Disposition: attachment; filename*=utf-8''%D0%BF%D1%80%D0%BE%D1%82%D0%BE%D0%BA%D0%BE%D0%BB.txt\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n0JTQuNCy0LDQvSDQsiDQs9C+0YHRgtC40L3QvtC5LCDRgtGA0Lgg0L/Rj9GC0L3QsC4=\r\n--demo-b1--\r\n"
            .as_bytes(),
    );

    let mut question = head(&[
        "From: Emma Clark <emma.clark@example.com>".into(),
        format!("To: Support <{ADDRESS}>"),
        "Subject: Exporting invoices to our accounting system".into(),
        "Message-ID: <demo-question-1@example.com>".into(),
        "Content-Type: multipart/alternative; boundary=\"demo-b2\"".into(),
    ]);
    question.extend_from_slice(
        b"\r\n--demo-b2\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nHi! Is there a way to export all invoices of last quarter as CSV?\r\nThanks, Emma\r\n\
          --demo-b2\r\nContent-Type: text/html; charset=us-ascii\r\n\r\n<p>Hi! Is there a way to export <b>all invoices</b> of last quarter as CSV?</p>\
          <p>Thanks, Emma</p><img src=\"https://tracker.example.com/open.gif\" width=\"1\" height=\"1\">\r\n--demo-b2--\r\n",
    );

    let mut vacation = head(&[
        "From: Liam Walker <liam.walker@example.org>".into(),
        format!("To: <{ADDRESS}>"),
        "Subject: Out of office".into(),
        "Message-ID: <demo-vacation-1@example.org>".into(),
        "Auto-Submitted: auto-replied".into(),
        "Content-Type: text/plain; charset=us-ascii".into(),
    ]);
    vacation.extend_from_slice(b"\r\nI am away until Monday and will answer when I am back.\r\n");

    let broken = b"\x00\x01\x02 this is not an e-mail message at all\r\n".to_vec();
    vec![complaint, reply, question, vacation, broken]
}

/// Gives the default mailbox the demo's address (no acknowledgements: the demo has no SMTP
/// server to send them through) and stores the messages for the server to file.
pub async fn load(app: &App) -> anyhow::Result<()> {
    let current = app.mail().default_mailbox().await?;
    let settings = Settings {
        address: ADDRESS.into(),
        sender_name: "Клининг Плюс".into(),
        imap: None,
        imap_folder: current.settings.imap_folder.clone(),
        imap_archive_folder: None,
        smtp: None,
        accept_invalid_certs: false,
        acknowledge: false,
        plus_addressing: false,
    };
    let spec = MailboxSpec { name: current.name.clone(), settings, active: true, is_default: true };
    let mailbox = app.mail().update_mailbox(Actor::SYSTEM, current.id, spec).await?;
    for raw in messages() {
        app.mail().receive(mailbox.id, PayloadSource::Api, vec![ADDRESS.into()], raw).await?;
    }
    Ok(())
}
