"""`serve --workers N`: N server processes on one port; the kernel spreads connections over
them (SO_REUSEPORT)."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable

from aiohttp import web

from infra.log import setup_logging
from server.app import served_app
from server.eventloop import new_event_loop
from settings import Settings

log = logging.getLogger("linli")


def serve_one(settings: Settings) -> None:
    """One of `serve --workers N`: a whole app on the shared port."""
    setup_logging(settings.log_level, settings.log_json)
    web.run_app(
        served_app(settings),
        host=settings.host,
        port=settings.port,
        print=None,
        reuse_port=True,
        loop=new_event_loop(),
    )


def serve_many(
    settings: Settings, workers: int, schema_is_current: Callable[[Settings], bool]
) -> int:
    """They share state only through REDIS_URL (dedupe, forms, the access token) and the
    database, so an embedded Redis (one per process) is refused. Stops them all when one exits,
    so a supervisor (systemd, Docker) restarts the set."""
    import multiprocessing
    import signal
    from multiprocessing.connection import wait

    if not settings.redis_url:
        print("serve --workers N needs REDIS_URL: processes share Redis", file=sys.stderr)
        return 2
    if not schema_is_current(settings):
        return 2
    if not settings.database_url:
        log.warning("several processes on one SQLite file: use DATABASE_URL=postgres://...")
    print(f"  Workers:             {workers} processes (SO_REUSEPORT)", flush=True)
    spawn = multiprocessing.get_context("spawn")
    procs = [
        spawn.Process(target=serve_one, args=(settings,), name=f"linli-serve-{i}")
        for i in range(workers)
    ]
    for p in procs:
        p.start()

    def forward(signum: int, frame: object) -> None:
        for p in procs:
            if p.is_alive() and p.pid:
                os.kill(p.pid, signum)

    signal.signal(signal.SIGTERM, forward)
    # Ctrl-C reaches the children through the terminal's process group already.
    signal.signal(signal.SIGINT, lambda signum, frame: None)
    wait([p.sentinel for p in procs])
    forward(signal.SIGTERM, None)
    for p in procs:
        p.join(timeout=30)
    return max((p.exitcode or 0) for p in procs)
