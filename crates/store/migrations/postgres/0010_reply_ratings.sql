-- A rating of one agent reply ("did this help?") names the reply.
alter table ratings add column message_id bigint references messages(id);
