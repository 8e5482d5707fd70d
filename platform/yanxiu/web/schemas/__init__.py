"""Pydantic models of the JSON API, one module per area (those too long to sit in the route)."""
