-- Opora's first schema: agents, teams, customers, cases, messages, events, jobs, auth.
-- Times are integer milliseconds since the Unix epoch (UTC); booleans are 0/1.

create table teams (
    id integer primary key,
    name text not null,
    name_key text not null unique,
    created_at integer not null,
    updated_at integer not null
);

create table agents (
    id integer primary key,
    email text not null unique,
    name text not null,
    role text not null,
    language text not null,
    password_hash text,
    active integer not null default 1,
    created_at integer not null,
    updated_at integer not null
);

create table team_members (
    team_id integer not null references teams(id) on delete cascade,
    agent_id integer not null references agents(id) on delete cascade,
    primary key (team_id, agent_id)
);
create index team_members_agent on team_members(agent_id);

create table customers (
    id integer primary key,
    name text not null,
    company text,
    language text,
    our_client integer not null default 0,
    note text,
    -- Lower-cased name and company, folded in Rust: SQLite's lower() knows only ASCII.
    search_key text not null default '',
    merged_into integer references customers(id),
    created_at integer not null,
    updated_at integer not null
);

create table identities (
    id integer primary key,
    customer_id integer not null references customers(id),
    kind text not null,
    value text not null,
    created_at integer not null,
    unique (kind, value)
);
create index identities_customer on identities(customer_id);

create table cases (
    id integer primary key,
    number integer not null unique,
    subject text not null,
    customer_id integer not null references customers(id),
    kind text not null,
    status text not null,
    priority text not null,
    channel text not null,
    team_id integer references teams(id),
    owner_id integer references agents(id),
    category text,
    custom_fields text not null default '{}',
    deadline_at integer,
    budget_minor integer,
    budget_currency text,
    spent_minor integer not null default 0,
    created_at integer not null,
    updated_at integer not null,
    first_response_at integer,
    solved_at integer,
    closed_at integer
);
create index cases_status_updated on cases(status, updated_at, id);
create index cases_owner_updated on cases(owner_id, status, updated_at, id);
create index cases_team_updated on cases(team_id, status, updated_at, id);
create index cases_customer_updated on cases(customer_id, updated_at, id);
create index cases_updated on cases(updated_at, id);
create index cases_open_deadline on cases(deadline_at) where status not in ('solved', 'closed');

create table case_tags (
    case_id integer not null references cases(id) on delete cascade,
    tag text not null,
    primary key (case_id, tag)
);
create index case_tags_tag on case_tags(tag, case_id);

create table case_collaborators (
    case_id integer not null references cases(id) on delete cascade,
    agent_id integer not null references agents(id),
    added_by integer references agents(id),
    created_at integer not null,
    primary key (case_id, agent_id)
);
create index case_collaborators_agent on case_collaborators(agent_id, case_id);

create table messages (
    id integer primary key,
    case_id integer not null references cases(id),
    direction text not null,
    channel text not null,
    author_agent_id integer references agents(id),
    author_customer_id integer references customers(id),
    subject text,
    body_text text not null,
    body_html text,
    external_id text,
    delivery_status text not null,
    delivery_error text,
    created_at integer not null
);
create index messages_case on messages(case_id, id);

create table attachments (
    id integer primary key,
    message_id integer not null references messages(id),
    filename text not null,
    content_type text not null,
    size integer not null,
    sha256 text not null,
    content_id text,
    created_at integer not null
);
create index attachments_message on attachments(message_id);

create table compensations (
    id integer primary key,
    case_id integer not null references cases(id),
    kind text not null,
    amount_minor integer not null,
    currency text not null,
    note text not null,
    granted_by integer not null references agents(id),
    over_budget integer not null default 0,
    created_at integer not null
);
create index compensations_case on compensations(case_id);

create table custom_fields (
    id integer primary key,
    key text not null unique,
    label_ru text not null,
    label_en text not null,
    field_type text not null,
    options text not null default '[]',
    required integer not null default 0,
    position integer not null default 0,
    created_at integer not null,
    updated_at integer not null
);

create table events (
    id integer primary key,
    kind text not null,
    case_id integer,
    customer_id integer,
    actor_kind text not null,
    actor_id integer,
    data text not null,
    created_at integer not null
);
create index events_case on events(case_id, id) where case_id is not null;
create index events_customer on events(customer_id, id) where customer_id is not null;

create table jobs (
    id integer primary key,
    kind text not null,
    payload text not null,
    unique_key text unique,
    state text not null,
    run_at integer not null,
    attempts integer not null default 0,
    max_attempts integer not null,
    locked_until integer,
    last_error text,
    created_at integer not null,
    updated_at integer not null
);
create index jobs_due on jobs(state, run_at);

create table api_tokens (
    id integer primary key,
    agent_id integer not null references agents(id),
    name text not null,
    token_hash text not null unique,
    prefix text not null,
    role text,
    created_at integer not null,
    last_used_at integer,
    expires_at integer,
    revoked_at integer
);
create index api_tokens_agent on api_tokens(agent_id);

create table sessions (
    id_hash text primary key,
    agent_id integer not null references agents(id),
    csrf_token text not null,
    created_at integer not null,
    expires_at integer not null,
    last_seen_at integer not null
);
create index sessions_agent on sessions(agent_id);

create table idempotency_keys (
    agent_id integer not null,
    key text not null,
    request_hash text not null,
    status integer not null,
    response text not null,
    created_at integer not null,
    primary key (agent_id, key)
);

create table webhooks (
    id integer primary key,
    url text not null,
    secret text not null,
    events text not null,
    description text not null default '',
    active integer not null default 1,
    disabled_reason text,
    created_at integer not null,
    updated_at integer not null
);

create table webhook_deliveries (
    id integer primary key,
    webhook_id integer not null references webhooks(id) on delete cascade,
    event_id integer not null,
    attempt integer not null,
    status_code integer,
    error text,
    duration_ms integer not null,
    created_at integer not null
);
create index webhook_deliveries_webhook on webhook_deliveries(webhook_id, id);
