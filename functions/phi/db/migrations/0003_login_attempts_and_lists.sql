-- Login rate limiting (Lambda instances share no memory, so attempts are counted here),
-- and indexes for the paginated, filtered lists of agents and tasks.
-- depends: 0002_seed_catalog

CREATE TABLE login_attempts (
    id bigserial PRIMARY KEY,
    email text NOT NULL,
    client_ip text NOT NULL,
    succeeded boolean NOT NULL,
    attempted_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_attempts_lookup_idx ON login_attempts (lower(email), client_ip, attempted_at DESC);

CREATE INDEX agents_org_status_idx ON agents (org_id, status, created_at);
CREATE INDEX tasks_agent_status_type_idx ON tasks (agent_id, status, type, created_at DESC);
CREATE INDEX tasks_org_created_idx ON tasks (org_id, created_at DESC);
