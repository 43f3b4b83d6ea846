-- Notify and http nodes (issue 12 §5, DESIGN §8): each organisation's allow-list of outbound hosts, its webhook
-- signing secret (never returned after creation), and every notification a workflow sent — the captured
-- outbox on the embedded stack, the delivery log on AWS. One row per (task, node): a replayed node finds its
-- delivery instead of sending twice.
-- depends: 0011_workflow_definitions

CREATE TABLE org_outbound_hosts (
    org_id uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    host text NOT NULL CHECK (host ~ '^[a-z0-9.\-]+(:[0-9]{1,5})?$' AND length(host) <= 260),
    created_by uuid REFERENCES users(id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, host)
);

CREATE TABLE org_webhook_secrets (
    org_id uuid PRIMARY KEY REFERENCES organizations(id) ON DELETE CASCADE,
    secret text NOT NULL,
    created_by uuid REFERENCES users(id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE notifications (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    agent_id uuid REFERENCES agents(id) ON DELETE SET NULL,
    task_id uuid REFERENCES tasks(id) ON DELETE SET NULL,
    node_id text NOT NULL,
    channel text NOT NULL CHECK (channel IN ('email', 'webhook')),
    delivery text NOT NULL CHECK (delivery IN ('outbox', 'ses', 'https')),
    recipients jsonb NOT NULL DEFAULT '[]'::jsonb,
    subject text,
    body text NOT NULL,
    status text NOT NULL CHECK (status IN ('PENDING', 'SENT', 'CAPTURED', 'FAILED')),
    provider_message_id text,
    response_status integer,
    error text,
    created_at timestamptz NOT NULL DEFAULT now(),
    sent_at timestamptz,
    UNIQUE (task_id, node_id)
);
CREATE INDEX notifications_org_created_idx ON notifications (org_id, created_at DESC, id);
