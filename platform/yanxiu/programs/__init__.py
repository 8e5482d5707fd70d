"""Hybrid programs (线上线下混合式研修): online modules, offline sessions, attendance."""
