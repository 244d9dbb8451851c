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

update channels set settings = jsonb_strip_nulls(jsonb_build_object(
    'address', address,
    'sender_name', sender_name,
    'imap', case when imap_host is null then null else jsonb_build_object(
        'host', imap_host, 'port', imap_port, 'security', imap_security, 'user', imap_user, 'password', imap_password) end,
    'imap_folder', imap_folder,
    'imap_archive_folder', imap_archive_folder,
    'smtp', case when smtp_host is null then null else jsonb_build_object(
        'host', smtp_host, 'port', smtp_port, 'security', smtp_security, 'user', smtp_user, 'password', smtp_password) end,
    'accept_invalid_certs', accept_invalid_certs,
    'acknowledge', acknowledge,
    'plus_addressing', plus_addressing))::text;
update channels set cursor = (select jsonb_build_object('folder', folder, 'uidvalidity', uidvalidity, 'last_uid', last_uid)::text
                              from imap_state where imap_state.mailbox_id = channels.id);
drop table imap_state;

alter table channels drop column address, drop column sender_name,
    drop column imap_host, drop column imap_port, drop column imap_security, drop column imap_user, drop column imap_password,
    drop column imap_folder, drop column imap_archive_folder,
    drop column smtp_host, drop column smtp_port, drop column smtp_security, drop column smtp_user, drop column smtp_password,
    drop column accept_invalid_certs, drop column acknowledge, drop column plus_addressing;

-- One default per kind (the mailbox that takes mail addressed to no other).
drop index mailboxes_one_default;
create unique index channels_one_default on channels(kind) where is_default;

-- Every inbound payload, stored raw before anything reads it.
alter table raw_mails rename to inbound_payloads;
alter table inbound_payloads rename column mailbox_id to channel_id;
alter table inbound_payloads rename column message_id to external_id;
alter index raw_mails_waiting rename to inbound_payloads_waiting;
alter index raw_mails_status rename to inbound_payloads_status;
alter index raw_mails_case rename to inbound_payloads_case;

-- The keys that thread messages into cases, of every channel: e-mail Message-IDs (as they
-- were), an integration's message ids, a chat's conversation.
alter table mail_ids rename to thread_keys;
alter table thread_keys rename column message_id to key;
alter index mail_ids_case rename to thread_keys_case;
alter index mail_ids_message rename to thread_keys_message;

-- Acknowledgements per sender identity (kind:value), of every channel.
alter table mail_acknowledgements rename to acknowledgements;
alter table acknowledgements rename column address to identity;
update acknowledgements set identity = 'email:' || identity;

-- A case and a message name their channel; the kind stays for lists and filters.
alter table cases rename column mailbox_id to channel_id;
alter table cases rename column channel to channel_kind;
alter table messages rename column channel to channel_kind;
alter table messages add column channel_id bigint references channels(id);
update messages set channel_id = cases.channel_id from cases
where cases.id = messages.case_id and messages.channel_kind = 'email' and messages.direction in ('inbound', 'outbound');

-- Two cases an agent should look at together: a message named a case (its number, its
-- thread) but came from someone outside its conversation.
create table case_links (
    case_id bigint not null references cases(id) on delete cascade,
    linked_id bigint not null references cases(id) on delete cascade,
    reason text not null,
    created_at bigint not null,
    primary key (case_id, linked_id)
);

-- History and queued work in the new words.
update events set kind = 'channel.changed',
    data = jsonb_build_object('channel_id', (data::jsonb)->'mailbox_id', 'kind', 'email', 'action', (data::jsonb)->'action')::text
where kind = 'mailbox.changed';
update jobs set kind = 'message.send', unique_key = 'message:' || substr(unique_key, 7) where kind = 'email.send';
