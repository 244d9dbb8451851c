-- Messengers: a customer may change a message they sent (a Telegram edit). The edit is kept as
-- a message of its own, pointing at the one it changes, so both texts stay on the case.
alter table messages add column edit_of integer references messages(id);
