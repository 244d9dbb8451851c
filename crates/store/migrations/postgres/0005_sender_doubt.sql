-- A received message whose sender our mail server could not verify (SPF, DKIM, DMARC failed)
-- carries the verdict, shown with the message: its From address may be forged.
alter table messages add column sender_doubt text;
