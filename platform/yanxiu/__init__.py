"""Yanxiu 研修: an offline AI-assisted teacher research-and-training platform."""

__version__ = "0.1.0"
