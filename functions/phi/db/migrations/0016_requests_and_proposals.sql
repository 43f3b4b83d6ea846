-- Talking to an agent (DESIGN §9): every request with its lane and outcome; the patch lane's proposals.
-- A request in the execute lane runs as a task with trigger 'request' (type AD_HOC) and its pipeline kept here.
-- depends: 0011_workflow_definitions

ALTER TABLE tasks DROP CONSTRAINT IF EXISTS tasks_trigger_check;
ALTER TABLE tasks ADD CONSTRAINT tasks_trigger_check
    CHECK (trigger IN ('api', 'schedule', 'run_now', 'request'));

CREATE TABLE agent_requests (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    agent_id uuid NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    created_by uuid REFERENCES users(id) ON DELETE SET NULL,
    prompt text NOT NULL,
    lane text NOT NULL CHECK (lane IN ('execute', 'patch')),
    lane_source text NOT NULL CHECK (lane_source IN ('caller', 'llm', 'rules')),
    confidence double precision,
    lane_reason text NOT NULL,
    outcome text NOT NULL CHECK (outcome IN ('task', 'proposal', 'refused')),
    refusal jsonb,
    pipeline jsonb,
    task_id uuid REFERENCES tasks(id) ON DELETE SET NULL,
    llm_usage jsonb NOT NULL DEFAULT '[]'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX agent_requests_agent_idx ON agent_requests (agent_id, created_at DESC);
CREATE INDEX agent_requests_org_idx ON agent_requests (org_id, created_at DESC);
CREATE UNIQUE INDEX agent_requests_task_idx ON agent_requests (task_id) WHERE task_id IS NOT NULL;

CREATE TABLE workflow_proposals (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    agent_id uuid NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    workflow_id uuid NOT NULL REFERENCES workflows(id) ON DELETE CASCADE,
    request_id uuid REFERENCES agent_requests(id) ON DELETE SET NULL,
    base_version integer NOT NULL CHECK (base_version >= 1),
    patch jsonb NOT NULL,
    definition jsonb NOT NULL,
    summary text NOT NULL,
    explanation text,
    changes jsonb NOT NULL,
    warnings jsonb NOT NULL DEFAULT '[]'::jsonb,
    status text NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'APPROVED', 'REJECTED')),
    created_by uuid REFERENCES users(id) ON DELETE SET NULL,
    decided_by uuid REFERENCES users(id) ON DELETE SET NULL,
    decided_at timestamptz,
    decision_reason text,
    applied_version integer,
    rebased_from integer,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX workflow_proposals_agent_idx ON workflow_proposals (agent_id, created_at DESC);
CREATE INDEX workflow_proposals_org_status_idx ON workflow_proposals (org_id, status);
