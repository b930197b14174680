"""Places of the 15-minute circle (一刻钟便民生活圈): the community's service points by kind,
found by walking time, shown on the map page (/map/) and the printed poster (布点图).

The database is the truth; a Redis GEO index per kind (``index``) answers searches, rebuilt at
start-up and kept in step by ``service`` on every change, as for the craftsman directory.
"""
