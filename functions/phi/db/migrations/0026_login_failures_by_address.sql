-- The log-in limiter also counts one address's failures across every email (password spraying: one password tried
-- against many accounts, fewer than the per-email limit each); this index keeps that count to the address's rows.
-- depends: 0025_tasks_execution_arn

CREATE INDEX login_attempts_failures_by_address_idx ON login_attempts (client_ip, attempted_at DESC) WHERE NOT succeeded;
