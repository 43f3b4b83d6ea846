-- Phi Agents initial schema: the plan's tables plus what the task loop needs.
-- depends:

CREATE EXTENSION IF NOT EXISTS vector;

CREATE TABLE users (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email text NOT NULL,
    password_hash text NOT NULL,
    full_name text,
    is_platform_admin boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

CREATE TABLE organizations (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name text NOT NULL,
    created_by uuid REFERENCES users(id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE organization_members (
    org_id uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role text NOT NULL CHECK (role IN ('OWNER', 'ADMIN', 'MEMBER')),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, user_id)
);
CREATE INDEX organization_members_user_idx ON organization_members (user_id);

CREATE TABLE industries (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    key text NOT NULL UNIQUE,
    name text NOT NULL,
    description text
);

CREATE TABLE role_templates (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    industry_id uuid NOT NULL REFERENCES industries(id) ON DELETE CASCADE,
    key text NOT NULL,
    name text NOT NULL,
    description text,
    default_capabilities jsonb NOT NULL DEFAULT '[]'::jsonb,
    default_tools jsonb NOT NULL DEFAULT '[]'::jsonb,
    default_workflows jsonb NOT NULL DEFAULT '[]'::jsonb,
    UNIQUE (industry_id, key)
);

CREATE TABLE tools (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    key text NOT NULL UNIQUE,
    name text NOT NULL,
    description text,
    runs_on text NOT NULL CHECK (runs_on IN ('LOCAL', 'CLOUD')),
    operations jsonb NOT NULL DEFAULT '[]'::jsonb,
    config_schema jsonb NOT NULL DEFAULT '{}'::jsonb,
    available boolean NOT NULL DEFAULT true
);

CREATE TABLE agents (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    industry_id uuid REFERENCES industries(id),
    role_template_id uuid REFERENCES role_templates(id),
    name text NOT NULL,
    status text NOT NULL DEFAULT 'ACTIVE' CHECK (status IN ('ACTIVE', 'DISABLED', 'DELETED')),
    system_prompt text,
    config jsonb NOT NULL DEFAULT '{}'::jsonb,
    queue_url text,
    created_by uuid REFERENCES users(id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX agents_org_idx ON agents (org_id);

CREATE TABLE agent_tools (
    agent_id uuid NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    tool_id uuid NOT NULL REFERENCES tools(id),
    config jsonb NOT NULL DEFAULT '{}'::jsonb,
    PRIMARY KEY (agent_id, tool_id)
);

CREATE TABLE agent_keys (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    agent_id uuid NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    org_id uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    prefix text NOT NULL,
    key_hash text NOT NULL UNIQUE,
    created_by uuid REFERENCES users(id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at timestamptz
);
CREATE INDEX agent_keys_agent_idx ON agent_keys (agent_id);

CREATE TABLE local_agents (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    agent_id uuid NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    org_id uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    key_id uuid REFERENCES agent_keys(id) ON DELETE SET NULL,
    host text,
    pid integer,
    version text,
    os text,
    tools jsonb NOT NULL DEFAULT '[]'::jsonb,
    reported_status text NOT NULL DEFAULT 'ENROLLED' CHECK (reported_status IN ('ENROLLED', 'ONLINE', 'OFFLINE')),
    stats jsonb NOT NULL DEFAULT '{}'::jsonb,
    last_error text,
    heartbeat_seconds integer NOT NULL DEFAULT 30,
    last_heartbeat_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (agent_id, host)
);

CREATE TABLE documents (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    agent_id uuid NULL REFERENCES agents(id) ON DELETE SET NULL,
    filename text NOT NULL,
    source_type text NOT NULL CHECK (source_type IN ('JD', 'SOP', 'POLICY', 'MANUAL', 'OTHER')),
    content_type text,
    s3_key text NOT NULL,
    bytes bigint NOT NULL,
    sha256 text NOT NULL,
    status text NOT NULL DEFAULT 'PROCESSING' CHECK (status IN ('PROCESSING', 'READY', 'FAILED')),
    error text,
    pages integer,
    chunk_count integer,
    embedding_model text,
    created_by uuid NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX documents_org_agent_idx ON documents (org_id, agent_id);

-- The embedding column is dimensionless so that models of different dimensions coexist;
-- each model gets its own partial HNSW expression index (created when the model is first used).
CREATE TABLE document_chunks (
    id bigserial PRIMARY KEY,
    document_id uuid NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    org_id uuid NOT NULL,
    agent_id uuid NULL,
    chunk_index integer NOT NULL,
    text text NOT NULL,
    page integer,
    heading text,
    content_hash text NOT NULL,
    embedding vector NOT NULL,
    embedding_model text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (document_id, chunk_index)
);
CREATE INDEX document_chunks_org_agent_idx ON document_chunks (org_id, agent_id);

CREATE TABLE tasks (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    agent_id uuid NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    type text NOT NULL,
    trigger text NOT NULL DEFAULT 'api' CHECK (trigger IN ('api', 'schedule', 'run_now')),
    status text NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'RUNNING', 'SUCCEEDED', 'FAILED', 'SKIPPED')),
    input jsonb NOT NULL DEFAULT '{}'::jsonb,
    output jsonb,
    error jsonb,
    execution_arn text,
    created_by uuid REFERENCES users(id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    started_at timestamptz,
    finished_at timestamptz
);
CREATE INDEX tasks_agent_created_idx ON tasks (agent_id, created_at DESC);
CREATE INDEX tasks_org_status_idx ON tasks (org_id, status);

CREATE TABLE task_events (
    id bigserial PRIMARY KEY,
    task_id uuid NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    org_id uuid NOT NULL,
    type text NOT NULL,
    message text NOT NULL DEFAULT '',
    data jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX task_events_task_idx ON task_events (task_id, id);

CREATE TABLE tool_calls (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    task_id uuid NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    org_id uuid NOT NULL,
    step integer NOT NULL,
    tool text NOT NULL,
    args jsonb NOT NULL DEFAULT '{}'::jsonb,
    status text NOT NULL DEFAULT 'REQUESTED' CHECK (status IN ('REQUESTED', 'COMPLETED', 'FAILED')),
    error_code text,
    error_message text,
    result_bytes bigint,
    requested_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    completed_at timestamptz
);
CREATE INDEX tool_calls_task_idx ON tool_calls (task_id);

CREATE TABLE schedules (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    agent_id uuid NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    org_id uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    workflow_type text NOT NULL,
    cron text NOT NULL,
    timezone text NOT NULL DEFAULT 'UTC',
    input jsonb NOT NULL DEFAULT '{}'::jsonb,
    enabled boolean NOT NULL DEFAULT true,
    overlap_policy text NOT NULL DEFAULT 'SKIP' CHECK (overlap_policy IN ('SKIP', 'ALLOW')),
    last_fired_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (agent_id, workflow_type)
);
