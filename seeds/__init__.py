"""Seed data: ``seed_reference`` (every installation) and ``seed_demo`` (the demo practice)."""
from .demo import DEMO_PASSWORD, DEMO_USERS, seed_demo
from .reference import seed_reference

__all__ = ["DEMO_PASSWORD", "DEMO_USERS", "seed_demo", "seed_reference"]
