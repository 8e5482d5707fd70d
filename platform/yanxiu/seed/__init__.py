"""Seeding: the content sync, the deterministic demo roster, and synthetic data for scale."""
