"""The craftsman directory (能人巧匠): register, verify, import and find nearby craftsmen.

The database is the truth; a Redis GEO index per category (``index``) answers searches and is
rebuilt at start-up and kept in step by ``service`` on every change.
"""
