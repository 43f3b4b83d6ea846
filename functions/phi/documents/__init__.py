"""Document memory: extraction, chunking, ingest and vector search over pgvector."""
