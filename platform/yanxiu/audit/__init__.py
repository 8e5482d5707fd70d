"""Audit log: who changed what, when."""
