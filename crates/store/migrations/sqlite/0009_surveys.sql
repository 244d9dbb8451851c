-- Surveys with closed questions, sent to an audience of customers.
create table surveys (
    id integer primary key,
    title text not null,
    -- The questions and the audience, as JSON (opora_domain::survey::SurveySpec).
    spec text not null,
    status text not null,
    -- Sending goes through the audience in customer id order; the last one invited.
    sent_through integer not null default 0,
    created_by integer references agents(id),
    created_at integer not null,
    finished_at integer
);

-- A survey as one customer got it: the capability in their page's address, their answers.
create table survey_invitations (
    id integer primary key,
    survey_id integer not null references surveys(id),
    customer_id integer not null references customers(id),
    -- The case the invitation went out on; the customer's replies land there.
    case_id integer references cases(id),
    token text not null unique,
    sent_at integer not null,
    -- The chosen option per question, as a JSON array, once answered.
    answers text,
    answered_at integer
);
create unique index survey_invitations_once on survey_invitations(survey_id, customer_id);
create index survey_invitations_customer on survey_invitations(customer_id);
