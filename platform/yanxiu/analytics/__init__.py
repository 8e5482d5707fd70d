"""Learning analytics: offline embeddings, vector search and teacher vectors."""
