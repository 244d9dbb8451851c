-- Messengers: a customer may change a message they sent (a Telegram edit). The edit is kept as
-- a message of its own, pointing at the one it changes, so both texts stay on the case.
alter table messages add column edit_of bigint references messages(id);
-- A reply sent as an approved message template (WhatsApp outside its 24-hour window): the
-- template's name, language and variables, as JSON.
alter table messages add column template text;
-- One person, many identities: customers of the same name are offered for merging.
create index customers_name on customers(name);
