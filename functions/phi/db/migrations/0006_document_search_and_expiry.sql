-- Hybrid retrieval: a full-text vector of each chunk (heading + text) with a GIN index, fused with vector
-- similarity at search time. Documents whose pre-signed upload was never used end EXPIRED; the sweeper finds
-- stale PROCESSING documents through a partial index.
-- depends: 0004_document_uploads

ALTER TABLE document_chunks ADD COLUMN search_text tsvector
    GENERATED ALWAYS AS (to_tsvector('english', coalesce(heading, '') || ' ' || text)) STORED;
CREATE INDEX document_chunks_search_text_idx ON document_chunks USING gin (search_text);

ALTER TABLE documents DROP CONSTRAINT IF EXISTS documents_status_check;
ALTER TABLE documents ADD CONSTRAINT documents_status_check
    CHECK (status IN ('PROCESSING', 'READY', 'FAILED', 'EXPIRED'));
CREATE INDEX documents_processing_idx ON documents (updated_at) WHERE status = 'PROCESSING';
