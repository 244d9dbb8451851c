-- Channels: a mailbox becomes one kind of configured connection. Its e-mail settings move into
-- the channel's settings (JSON its driver reads), IMAP positions into the channel's cursor,
-- raw mail into inbound payloads of any channel, Message-IDs into thread keys of any channel.
-- Ids stay: mailbox 3 is channel 3, so every link and API path keeps working.

alter table mailboxes rename to channels;
alter table channels add column kind text not null default 'email';
alter table channels add column settings text not null default '{}';
-- What a channel's poller remembers between rounds (an IMAP folder's position).
alter table channels add column cursor text;
-- ok, failing (the last round failed; the next may work) or broken (an admin must act).
alter table channels add column state text not null default 'ok';
alter table channels rename column fetch_error to error;
alter table channels rename column fetched_at to checked_at;
update channels set state = 'failing' where error is not null;

update channels set settings = json_object(
    'address', address,
    'sender_name', sender_name,
    'imap_folder', imap_folder,
    'imap_archive_folder', imap_archive_folder,
    'accept_invalid_certs', json(case when accept_invalid_certs then 'true' else 'false' end),
    'acknowledge', json(case when acknowledge then 'true' else 'false' end),
    'plus_addressing', json(case when plus_addressing then 'true' else 'false' end));
update channels set settings = json_set(settings, '$.imap',
    json_object('host', imap_host, 'port', imap_port, 'security', imap_security, 'user', imap_user, 'password', imap_password))
where imap_host is not null;
update channels set settings = json_set(settings, '$.smtp',
    json_object('host', smtp_host, 'port', smtp_port, 'security', smtp_security, 'user', smtp_user, 'password', smtp_password))
where smtp_host is not null;
update channels set cursor = (select json_object('folder', folder, 'uidvalidity', uidvalidity, 'last_uid', last_uid)
                              from imap_state where imap_state.mailbox_id = channels.id);
drop table imap_state;

alter table channels drop column address;
alter table channels drop column sender_name;
alter table channels drop column imap_host;
alter table channels drop column imap_port;
alter table channels drop column imap_security;
alter table channels drop column imap_user;
alter table channels drop column imap_password;
alter table channels drop column imap_folder;
alter table channels drop column imap_archive_folder;
alter table channels drop column smtp_host;
alter table channels drop column smtp_port;
alter table channels drop column smtp_security;
alter table channels drop column smtp_user;
alter table channels drop column smtp_password;
alter table channels drop column accept_invalid_certs;
alter table channels drop column acknowledge;
alter table channels drop column plus_addressing;

-- One default per kind (the mailbox that takes mail addressed to no other).
drop index mailboxes_one_default;
create unique index channels_one_default on channels(kind) where is_default;

-- Every inbound payload, stored raw before anything reads it.
alter table raw_mails rename to inbound_payloads;
alter table inbound_payloads rename column mailbox_id to channel_id;
alter table inbound_payloads rename column message_id to external_id;
drop index raw_mails_waiting;
drop index raw_mails_status;
drop index raw_mails_case;
create index inbound_payloads_waiting on inbound_payloads(id) where status = 'received';
create index inbound_payloads_status on inbound_payloads(status, id);
create index inbound_payloads_case on inbound_payloads(case_id) where case_id is not null;

-- The keys that thread messages into cases, of every channel: e-mail Message-IDs (as they
-- were), an integration's message ids, a chat's conversation.
alter table mail_ids rename to thread_keys;
alter table thread_keys rename column message_id to key;
drop index mail_ids_case;
drop index mail_ids_message;
create index thread_keys_case on thread_keys(case_id, created_at);
create index thread_keys_message on thread_keys(message_row) where message_row is not null;

-- Acknowledgements per sender identity (kind:value), of every channel.
alter table mail_acknowledgements rename to acknowledgements;
alter table acknowledgements rename column address to identity;
update acknowledgements set identity = 'email:' || identity;

-- A case and a message name their channel; the kind stays for lists and filters.
alter table cases rename column mailbox_id to channel_id;
alter table cases rename column channel to channel_kind;
alter table messages rename column channel to channel_kind;
alter table messages add column channel_id integer references channels(id);
update messages set channel_id = (select channel_id from cases where cases.id = messages.case_id)
where channel_kind = 'email' and direction in ('inbound', 'outbound');

-- Two cases an agent should look at together: a message named a case (its number, its
-- thread) but came from someone outside its conversation.
create table case_links (
    case_id integer not null references cases(id) on delete cascade,
    linked_id integer not null references cases(id) on delete cascade,
    reason text not null,
    created_at integer not null,
    primary key (case_id, linked_id)
);

-- History and queued work in the new words.
update events set kind = 'channel.changed',
    data = json_object('channel_id', json_extract(data, '$.mailbox_id'), 'kind', 'email', 'action', json_extract(data, '$.action'))
where kind = 'mailbox.changed';
update jobs set kind = 'message.send', unique_key = 'message:' || substr(unique_key, 7) where kind = 'email.send';
