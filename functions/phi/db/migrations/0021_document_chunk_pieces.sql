-- Multi-vector retrieval: one vector per sentence of a chunk ("pieces", phi.documents.chunking.chunk_pieces)
-- besides the chunk's own vector. A search takes the nearest chunks as candidates, as before, then scores each by
-- the mean of its own similarity and its best piece's (phi.db.documents.search). Pieces are reached only through
-- their chunk (primary key), so they need no vector index; they go when their chunk goes. Chunks written before
-- this migration have no pieces and keep their own similarity as score until their document is ingested again.
-- depends: 0020_search_text_on_demand

CREATE TABLE document_chunk_pieces (
    document_id uuid NOT NULL,
    chunk_index integer NOT NULL,
    piece_index integer NOT NULL,
    embedding vector NOT NULL,
    PRIMARY KEY (document_id, chunk_index, piece_index),
    FOREIGN KEY (document_id, chunk_index) REFERENCES document_chunks (document_id, chunk_index) ON DELETE CASCADE
);
