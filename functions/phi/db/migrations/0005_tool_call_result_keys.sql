-- The claim check: the S3 key issued with each tool request (its pre-signed upload). Think reads a large
-- result only from the key it issued for that call, never from a key the local agent names.
-- depends: 0004_document_uploads

ALTER TABLE tool_calls ADD COLUMN result_key text;
