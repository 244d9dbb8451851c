-- Which cases an agent sees: 'all', or 'teams' (their teams' cases and the ones they own or
-- were pulled into).
alter table agents add column case_access text not null default 'all';
