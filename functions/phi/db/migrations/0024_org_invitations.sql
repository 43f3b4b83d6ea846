-- Invitations to an organisation: an owner or admin invites an e-mail address; whoever signs in with that
-- address AND holds the single-use link sent to it becomes a member. Adding an account by its address alone
-- let anyone who signed up with someone else's address (there is no e-mail verification) take their seat.
-- The token is kept only as its SHA-256 hash. At most one invitation per (organisation, address) is pending:
-- inviting again replaces its token. The invitation e-mail is a notification with no task and no workflow
-- node, so a notification's node is now optional (a workflow's notifications still name theirs).
-- depends: 0023_task_cancelled

CREATE TABLE org_invitations (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    email text NOT NULL CHECK (length(email) <= 320),
    role text NOT NULL CHECK (role IN ('OWNER', 'ADMIN', 'MEMBER')),
    token_hash text NOT NULL UNIQUE,
    status text NOT NULL CHECK (status IN ('PENDING', 'ACCEPTED', 'REVOKED')),
    invited_by uuid REFERENCES users(id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    accepted_by uuid REFERENCES users(id) ON DELETE SET NULL,
    accepted_at timestamptz
);
CREATE UNIQUE INDEX org_invitations_one_pending_idx ON org_invitations (org_id, lower(email)) WHERE status = 'PENDING';

ALTER TABLE notifications ALTER COLUMN node_id DROP NOT NULL;
