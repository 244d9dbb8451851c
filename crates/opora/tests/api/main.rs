//! API tests: the real server on a random port, each scenario run on SQLite and on PostgreSQL.

mod harness;

mod api_channel;
mod care;
mod cases;
mod cli;
mod crash;
mod customers;
mod docs;
mod flow;
mod identities;
mod integrations;
mod jobs;
mod layers;
mod mail;
mod mail_check;
mod mail_pipe;
mod mail_servers;
mod phone;
mod schema;
mod security;
mod servers;
mod strangers;
mod surveys;
mod telegram;
mod telegram_bot;
mod upgrade;
mod vk;
mod vk_api;
mod whatsapp;
mod whatsapp_graph;
mod widget;
