"""The event loop `serve` runs on: uvloop (libuv) where it is installed, else asyncio's own.

Measured with `bench/realistic.py` in alternating pairs on the same tree: on uvloop the server
used 15-30 % less CPU per message on the single-text search load and a few per cent less on
the realistic mix, in every pair. Tests and the terminal chat keep asyncio's loop.
"""

from __future__ import annotations

import asyncio


def new_event_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()
