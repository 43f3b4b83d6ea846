-- The log-in limiter also counts one client network's failures across every email (password spraying: one password
-- tried against many accounts, fewer than the per-email limit each). The network is the address for IPv4 and its
-- /64 for IPv6 (one client holds a whole /64), written by the service with each failure; older rows have none and
-- leave the window within 15 minutes. The index keeps that count to the network's rows.
-- depends: 0025_tasks_execution_arn

ALTER TABLE login_attempts ADD COLUMN client_network text;
CREATE INDEX login_attempts_failures_by_network_idx ON login_attempts (client_network, attempted_at DESC)
    WHERE NOT succeeded;
