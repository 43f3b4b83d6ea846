-- A person may cancel a pending or running task (POST /tasks/{id}/cancel): CANCELLED is a final status, like
-- SUCCEEDED, FAILED and SKIPPED.
-- depends: 0022_login_attempts_expiry

ALTER TABLE tasks DROP CONSTRAINT IF EXISTS tasks_status_check;
ALTER TABLE tasks ADD CONSTRAINT tasks_status_check
    CHECK (status IN ('PENDING', 'RUNNING', 'SUCCEEDED', 'FAILED', 'SKIPPED', 'CANCELLED'));
