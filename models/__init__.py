"""Tortoise models, one module per domain (see infra.database.APPS)."""
