-- LLM accounting (issue 13 §5): every request to an LLM route, on its organisation and (when a task made it) its
-- task; an optional monthly token budget per organisation.
-- depends: 0011_workflow_definitions

CREATE TABLE llm_calls (
    id bigserial PRIMARY KEY,
    org_id uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    task_id uuid REFERENCES tasks(id) ON DELETE CASCADE,
    agent_id uuid REFERENCES agents(id) ON DELETE SET NULL,
    purpose text NOT NULL,
    route text NOT NULL,
    model text NOT NULL,
    attempt integer NOT NULL CHECK (attempt >= 1),
    ok boolean NOT NULL,
    error text,
    prompt_tokens integer NOT NULL DEFAULT 0 CHECK (prompt_tokens >= 0),
    completion_tokens integer NOT NULL DEFAULT 0 CHECK (completion_tokens >= 0),
    latency_ms integer NOT NULL DEFAULT 0 CHECK (latency_ms >= 0),
    created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
-- The budget check sums an organisation's month; a task shows its own calls.
CREATE INDEX llm_calls_org_created_idx ON llm_calls (org_id, created_at);
CREATE INDEX llm_calls_task_idx ON llm_calls (task_id) WHERE task_id IS NOT NULL;

ALTER TABLE organizations ADD COLUMN llm_monthly_token_budget bigint CHECK (llm_monthly_token_budget >= 0);
