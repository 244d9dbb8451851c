-- E-mail: mailboxes, every inbound message's raw bytes kept before parsing, and the Message-IDs
-- that thread replies into their cases.

create table mailboxes (
    id integer primary key,
    name text not null unique,
    address text not null,
    -- Shown in From after the agent's name: "Анна — Клининг Плюс".
    sender_name text not null default '',
    imap_host text,
    imap_port integer,
    imap_security text not null default 'tls',
    imap_user text,
    imap_password text,
    imap_folder text not null default 'INBOX',
    -- Where fetched mail is moved after commit; without it, it is only marked seen.
    imap_archive_folder text,
    smtp_host text,
    smtp_port integer,
    smtp_security text not null default 'starttls',
    smtp_user text,
    smtp_password text,
    accept_invalid_certs integer not null default 0,
    acknowledge integer not null default 1,
    plus_addressing integer not null default 0,
    active integer not null default 1,
    is_default integer not null default 0,
    fetch_error text,
    fetched_at integer,
    created_at integer not null,
    updated_at integer not null
);
create unique index mailboxes_one_default on mailboxes(is_default) where is_default;

-- A fresh installation accepts piped and LMTP mail at once; the admin sets the real address.
insert into mailboxes (name, address, is_default, created_at, updated_at)
values ('default', 'support@localhost', 1, cast(strftime('%s', 'now') as integer) * 1000, cast(strftime('%s', 'now') as integer) * 1000);

create table raw_mails (
    id integer primary key,
    mailbox_id integer not null references mailboxes(id),
    source text not null,
    -- Envelope recipients (LMTP RCPT TO), one per line: plus addresses live here.
    recipients text not null default '',
    size integer not null,
    sha256 text not null,
    status text not null,
    error text,
    attempts integer not null default 0,
    retry_at integer,
    message_id text,
    case_id integer references cases(id),
    message_row integer references messages(id),
    received_at integer not null,
    processed_at integer
);
create index raw_mails_waiting on raw_mails(id) where status = 'received';
create index raw_mails_status on raw_mails(status, id);
create index raw_mails_case on raw_mails(case_id) where case_id is not null;

-- Every Message-ID we received or sent, and those our mail referenced before we saw them
-- ('reference'): a parent arriving after its reply still finds the reply's case.
create table mail_ids (
    message_id text primary key,
    case_id integer not null references cases(id),
    message_row integer references messages(id),
    kind text not null,
    created_at integer not null
);
create index mail_ids_case on mail_ids(case_id, created_at);
create index mail_ids_message on mail_ids(message_row) where message_row is not null;

-- Where each IMAP folder was read up to; written in the transaction that stores the mail.
create table imap_state (
    mailbox_id integer primary key references mailboxes(id) on delete cascade,
    folder text not null,
    uidvalidity integer not null,
    last_uid integer not null,
    updated_at integer not null
);

-- People in a case's conversation besides its customer: CC'd, or who replied in the thread.
create table case_participants (
    case_id integer not null references cases(id) on delete cascade,
    customer_id integer not null references customers(id),
    role text not null,
    created_at integer not null,
    primary key (case_id, customer_id)
);

-- When each address last got an automatic acknowledgement, to keep two auto-responders from
-- talking to each other for ever.
create table mail_acknowledgements (
    address text primary key,
    window_start integer not null,
    sent integer not null
);

alter table cases add column mailbox_id integer references mailboxes(id);
alter table agents add column signature text;
