-- A scheduled StartTask that Step Functions retries after its commit finds the task its execution already created
-- (tasks_repo.task_of_execution) instead of creating a second one; this index keeps that lookup to one row however
-- many tasks the agent has run.
-- depends: 0024_org_invitations
CREATE INDEX tasks_execution_arn_idx ON tasks (execution_arn) WHERE execution_arn IS NOT NULL;
