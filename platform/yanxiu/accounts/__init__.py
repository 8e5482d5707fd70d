"""Regions, schools, users, roles and teacher profiles."""
