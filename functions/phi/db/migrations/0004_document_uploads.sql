-- Pre-signed uploads: the document row exists before its bytes do; size and digest are filled in at ingest.
-- depends: 0003_login_attempts_and_lists

ALTER TABLE documents ALTER COLUMN bytes DROP NOT NULL;
ALTER TABLE documents ALTER COLUMN sha256 DROP NOT NULL;
CREATE INDEX documents_org_sha_idx ON documents (org_id, sha256);
