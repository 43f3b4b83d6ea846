-- Approvals inside running workflows (DESIGN §9): an `approval` node's request, the Step Functions task token the
-- execution waits on (never shown by the API), and the decision — once, by whom, when, with what comment.
-- depends: 0011_workflow_definitions

CREATE TABLE approvals (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    agent_id uuid NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    task_id uuid NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    step integer NOT NULL,
    node_id text NOT NULL,
    title text NOT NULL,
    summary text NOT NULL DEFAULT '',
    approver_roles text[] NOT NULL DEFAULT '{}',
    approver_emails text[] NOT NULL DEFAULT '{}',
    on_timeout text NOT NULL CHECK (on_timeout IN ('fail', 'skip')),
    status text NOT NULL DEFAULT 'PENDING'
        CHECK (status IN ('PENDING', 'APPROVED', 'REJECTED', 'TIMED_OUT', 'CANCELLED')),
    task_token text NOT NULL,
    requested_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    decided_by uuid REFERENCES users(id) ON DELETE SET NULL,
    decided_by_email text,
    decided_at timestamptz,
    comment text,
    -- Think has handed the outcome to the workflow: the row is closed for the task loop.
    resumed_at timestamptz,
    -- One approval per Think step: a retried AwaitApproval replaces the token instead of adding a row.
    UNIQUE (task_id, step)
);
CREATE INDEX approvals_org_status_idx ON approvals (org_id, status, requested_at DESC);
CREATE INDEX approvals_task_idx ON approvals (task_id, requested_at DESC);
