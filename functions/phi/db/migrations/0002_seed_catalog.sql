-- Catalog seed: the logistics industry, its role templates and the tools.
-- depends: 0001_initial_schema

INSERT INTO industries (key, name, description) VALUES
    ('logistics', 'Logistics & Warehousing', 'Warehouses, distribution centres and fulfilment operations.');

INSERT INTO tools (key, name, description, runs_on, operations, config_schema, available) VALUES
    ('db', 'Warehouse database', 'Read-only SQL on the customer''s database, run by the local agent.', 'LOCAL',
     '["db.query"]'::jsonb,
     '{"type": "object", "additionalProperties": false,
       "properties": {
         "url_env": {"type": "string", "pattern": "^[A-Z_][A-Z0-9_]*$", "default": "PHI_WAREHOUSE_DB_URL",
                     "description": "Name of the environment variable on the local machine that holds the SQLAlchemy URL."},
         "statement_timeout_seconds": {"type": "integer", "minimum": 1, "maximum": 3600, "default": 30},
         "max_rows": {"type": "integer", "minimum": 1, "maximum": 10000000, "default": 100000}}}'::jsonb,
     true),
    ('file', 'Files (CSV / Excel)', 'Reads CSV and Excel exports under a base folder on the local machine.', 'LOCAL',
     '["file.read"]'::jsonb,
     '{"type": "object", "additionalProperties": false, "required": ["base_dir"],
       "properties": {
         "base_dir": {"type": "string", "minLength": 1},
         "max_rows": {"type": "integer", "minimum": 1, "maximum": 10000000, "default": 100000}}}'::jsonb,
     true),
    ('cctv', 'CCTV', 'Camera snapshots and events (not yet available).', 'LOCAL', '["cctv.snapshot"]'::jsonb,
     '{"type": "object"}'::jsonb, false),
    ('email', 'Email', 'Sends the report by email.', 'CLOUD', '["email.send"]'::jsonb,
     '{"type": "object", "additionalProperties": false, "required": ["recipients"],
       "properties": {"recipients": {"type": "array", "items": {"type": "string", "format": "email"}, "minItems": 1}}}'::jsonb,
     true);

INSERT INTO role_templates (industry_id, key, name, description, default_capabilities, default_tools, default_workflows)
SELECT i.id, t.key, t.name, t.description, t.caps::jsonb, t.tools::jsonb, t.workflows::jsonb
FROM industries i
CROSS JOIN (VALUES
    ('warehouse_analyst', 'Warehouse analyst',
     'Analyses daily warehouse operations: throughput, pick rates, late orders, backlog.',
     '["Compute daily warehouse KPIs", "Flag anomalies against thresholds", "Cite the relevant SOPs", "Write the daily report"]',
     '["db", "file"]',
     '[{"type": "DAILY_WAREHOUSE_REPORT", "schedule": "0 7 * * *", "timezone": "UTC", "input": {}}]'),
    ('ops_manager', 'Operations manager',
     'Oversees shifts, staffing and service levels across the warehouse.',
     '["Review shift performance", "Plan staffing against backlog", "Escalate service-level risks"]',
     '["db", "file", "email"]',
     '[]'),
    ('safety_officer', 'Safety officer',
     'Monitors safety procedures and incidents.',
     '["Review incident logs", "Check procedures against SOPs", "Watch camera events (when available)"]',
     '["file", "cctv", "email"]',
     '[]')
) AS t(key, name, description, caps, tools, workflows)
WHERE i.key = 'logistics';
