-- A received message whose sender our mail server could not verify (SPF, DKIM, DMARC failed)
-- carries the verdict, shown with the message: its From address may be forged.
alter table messages add column sender_doubt text;
-- Who a reply was copied to (customer ids, JSON), as the agent chose when sending; null: the
-- case's whole conversation, as before.
alter table messages add column copies text;
