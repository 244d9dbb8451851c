-- The agent workspace: reply templates, notifications, who is looking at a case, deadline order.

create table reply_templates (
    id integer primary key,
    name text not null,
    body text not null,
    position integer not null default 0,
    created_by integer references agents(id),
    created_at integer not null,
    updated_at integer not null
);

-- What concerns an agent: assigned to them, pulled in, the customer replied on their case.
create table notifications (
    id integer primary key,
    agent_id integer not null references agents(id),
    event_id integer not null,
    case_id integer,
    kind text not null,
    read_at integer,
    created_at integer not null
);
create index notifications_unread on notifications(agent_id, read_at, id);

-- Who has a case open or is typing in it, for collision notices; rows expire by time.
create table case_presence (
    case_id integer not null,
    agent_id integer not null references agents(id),
    typing integer not null default 0,
    seen_at integer not null,
    primary key (case_id, agent_id)
);

-- "Solved this week" without walking every solved case ever.
create index cases_recently_solved on cases(solved_at) where status in ('solved', 'closed');

-- The "our clients" list, without reading every customer.
create index customers_our_clients on customers(id) where our_client;

-- "Deadline soonest" over the cases still being worked; no deadline sorts last.
create index cases_open_deadline_order on cases(coalesce(deadline_at, 9223372036854775807), id) where status not in ('solved', 'closed');
