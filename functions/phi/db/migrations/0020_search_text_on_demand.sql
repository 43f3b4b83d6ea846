-- The full-text column of hybrid search was GENERATED: every chunk write paid to_tsvector (about five sixths of a
-- binary COPY's time, bench/bench_ingest.py) even with hybrid search off, the default. It becomes a plain column,
-- written with the chunks only while hybrid search is on (PHI_SEARCH_TEXT_WEIGHT > 0), and filled in by the
-- document sweeper for chunks written while it was off (found through the partial index below). Values already
-- computed are kept.
-- depends: 0019_sessions_ended

ALTER TABLE document_chunks ALTER COLUMN search_text DROP EXPRESSION;
CREATE INDEX document_chunks_search_text_missing_idx ON document_chunks (id) WHERE search_text IS NULL;
