"""Semantic search over the catalog: offline embedders, the embedding cache, FAISS, hybrid search."""
