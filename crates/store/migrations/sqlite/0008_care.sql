-- The care loop: orders told stage by stage, ratings, playbooks, favourite performers.

-- Who does the work (a cleaner, a courier), known by the business system's id.
create table performers (
    id integer primary key,
    external_id text not null unique,
    name text not null,
    created_at integer not null,
    updated_at integer not null
);

-- Orders pushed by the business system, by its own id.
create table orders (
    id integer primary key,
    external_id text not null unique,
    order_type text not null,
    customer_id integer not null references customers(id),
    performer_id integer references performers(id),
    stage text not null,
    description text not null default '',
    address text,
    amount_minor integer,
    currency text,
    eta_at integer,
    tracking_url text,
    -- The capability in the customer's order page address.
    public_token text not null unique,
    -- The case its notifications go out on; the customer's answers land there.
    case_id integer references cases(id),
    created_at integer not null,
    updated_at integer not null
);
create index orders_customer on orders(customer_id, created_at);
create index orders_performer on orders(performer_id);

-- Each stage an order reached, once.
create table order_stages (
    order_id integer not null references orders(id),
    stage text not null,
    at integer not null,
    primary key (order_id, stage)
);

-- A rating asked for (score null) or given.
create table ratings (
    id integer primary key,
    token text not null unique,
    customer_id integer not null references customers(id),
    order_id integer references orders(id),
    case_id integer references cases(id),
    performer_id integer references performers(id),
    agent_id integer references agents(id),
    score integer,
    reasons text not null default '[]',
    comment text not null default '',
    favourite integer not null default 0,
    asked_at integer not null,
    reminders integer not null default 0,
    answered_at integer,
    problem_case_id integer references cases(id)
);
create index ratings_order on ratings(order_id);
create index ratings_case on ratings(case_id);
create index ratings_performer on ratings(performer_id, answered_at);
create index ratings_agent on ratings(agent_id, answered_at);

create table favourites (
    customer_id integer not null references customers(id),
    performer_id integer not null references performers(id),
    created_at integer not null,
    primary key (customer_id, performer_id)
);
create index favourites_performer on favourites(performer_id);

-- How the team handles a kind of problem. Lists are JSON arrays.
create table playbooks (
    id integer primary key,
    name text not null,
    kinds text not null default '[]',
    reasons text not null default '[]',
    categories text not null default '[]',
    checklist text not null,
    reply text not null default '',
    compensation_kind text,
    compensation_minor integer,
    compensation_currency text,
    deadline_minutes integer not null,
    active integer not null default 1,
    created_at integer not null,
    updated_at integer not null
);

-- What the care loop knows about a case: its order, its playbook and the steps done.
create table case_care (
    case_id integer primary key references cases(id),
    order_id integer references orders(id),
    playbook_id integer references playbooks(id),
    steps_done text not null default '[]',
    outcome text,
    rating_id integer references ratings(id)
);
create index case_care_order on case_care(order_id);

-- Data installed once (the starter playbooks), so what an admin deletes stays deleted.
create table seeds (
    name text primary key,
    applied_at integer not null
);

-- A grant over the budget an agent asked a supervisor to approve: `requested` until decided,
-- then `granted` or `refused`. Only granted ones count as spent.
alter table compensations add column status text not null default 'granted';
alter table compensations add column decided_by integer references agents(id);
alter table compensations add column decided_at integer;
create index compensations_requested on compensations(status, created_at);

-- Extra services offered during an order, done only once the customer confirms.
create table order_extras (
    id integer primary key,
    order_id integer not null references orders(id),
    description text not null,
    amount_minor integer not null,
    currency text not null,
    token text not null unique,
    status text not null default 'proposed',
    proposed_at integer not null,
    answered_at integer
);
create index order_extras_order on order_extras(order_id);
