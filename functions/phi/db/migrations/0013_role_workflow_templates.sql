-- The other seeded roles get their workflow from the template catalogue (functions/phi/definitions/templates):
-- an operations manager the shift handover, a safety officer the weekly incident summary (each entry names the
-- workflow; the template's own definition and schedule are stored as the new agent's version 1).
-- The safety officer reads the incident log through the database tool, which its defaults now name.
-- depends: 0002_seed_catalog

UPDATE role_templates r
SET default_workflows = '[{"type": "SHIFT_HANDOVER"}]'::jsonb
FROM industries i
WHERE i.id = r.industry_id AND i.key = 'logistics' AND r.key = 'ops_manager';

UPDATE role_templates r
SET default_workflows = '[{"type": "WEEKLY_INCIDENT_SUMMARY"}]'::jsonb,
    default_tools = '["db", "file", "cctv", "email"]'::jsonb
FROM industries i
WHERE i.id = r.industry_id AND i.key = 'logistics' AND r.key = 'safety_officer';
