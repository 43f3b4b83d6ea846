-- Workflows as data (DESIGN §8): each agent's workflow definitions with immutable versions;
-- every task records the version it ran.
-- depends: 0004_document_uploads

CREATE TABLE workflows (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    agent_id uuid NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    key text NOT NULL,
    current_version integer NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (agent_id, key)
);
CREATE INDEX workflows_org_idx ON workflows (org_id);

CREATE TABLE workflow_versions (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workflow_id uuid NOT NULL REFERENCES workflows(id) ON DELETE CASCADE,
    org_id uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    version integer NOT NULL CHECK (version >= 1),
    definition jsonb NOT NULL,
    source text NOT NULL CHECK (source IN ('template', 'api', 'patch', 'rollback')),
    reason text,
    author_id uuid REFERENCES users(id) ON DELETE SET NULL,
    based_on integer,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (workflow_id, version)
);

-- Versions are immutable: a change is a new version, never an edit of an old one.
CREATE FUNCTION workflow_versions_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'workflow versions are immutable; create a new version instead';
END $$;
CREATE TRIGGER workflow_versions_no_update BEFORE UPDATE ON workflow_versions
    FOR EACH ROW EXECUTE FUNCTION workflow_versions_immutable();

ALTER TABLE tasks ADD COLUMN workflow_version_id uuid REFERENCES workflow_versions(id);
