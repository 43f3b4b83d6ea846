-- The file tool's folder is decided on the customer's machine: an agent created from a role template needs no
-- tool settings. Without base_dir the local agent reads `files/` next to its config file, or the folder its own
-- config names (local.tools in phi-agent-config.yaml).
-- depends: 0004_document_uploads

UPDATE tools SET config_schema = '{"type": "object", "additionalProperties": false,
  "properties": {
    "base_dir": {"type": "string", "minLength": 1,
                 "description": "The only folder file.read may read on the local machine. Optional: by default the local agent decides (files/ next to its config file, or local.tools in that file)."},
    "max_rows": {"type": "integer", "minimum": 1, "maximum": 10000000, "default": 100000}}}'::jsonb
WHERE key = 'file';
