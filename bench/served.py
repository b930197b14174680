"""`main.py serve` of any work tree, with the bench's counters: for `bench/realistic.py`.

    .venv/bin/python bench/served.py /work/baseline serve [--workers N]

Runs the given tree's `main.main()` in this process (so its pid is the server's, for CPU and
py-spy), after counting NLU parses: every `Parser.parse` call, and every `Parser._parse` run
(a cache miss, or a text too long to cache). On SIGUSR1 the counts go to the JSON file named
by BENCH_STATS. With BENCH_CPROFILE=path (for where py-spy cannot attach), a first SIGUSR2
starts cProfile (CPU time of the event loop thread) and a second writes its stats there.
With BENCH_SAMPLE=path, a CPU-weighted stack sampler runs while `path.on` exists (see
`_sampler`). With BENCH_UVLOOP=1 the server runs on uvloop. Nothing in the tree is changed.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path
from typing import Any


def _count_parses() -> dict[str, int]:
    counts = {"calls": 0, "parsed": 0}
    try:
        from bot.nlu.parser import Parser
    except ImportError:  # a tree without this parser: no figure
        return counts
    outer, inner = Parser.parse, Parser._parse

    def parse(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        counts["calls"] += 1
        return outer(self, *args, **kwargs)

    def _parse(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        counts["parsed"] += 1
        return inner(self, *args, **kwargs)

    Parser.parse, Parser._parse = parse, _parse  # type: ignore[method-assign]
    return counts


def _sampler(path: str, interval: float = 0.001) -> None:
    """A CPU profile without ptrace: while the file `path + '.on'` exists, the kernel sends
    SIGPROF after every `interval` of CPU time the process uses, and the handler (run by the
    main thread, where the event loop runs) counts the Python stack it interrupted. Time spent
    waiting for a core on a busy machine counts nothing. Writes collapsed stacks (py-spy's raw
    format) to `path` when the file goes."""
    import threading
    import time
    from collections import Counter

    counts: Counter[str] = Counter()
    on = Path(path + ".on")

    def sample(signum: int, frame: Any) -> None:
        names = []
        while frame is not None:
            code = frame.f_code
            names.append(f"{code.co_qualname} ({code.co_filename}:{frame.f_lineno})")
            frame = frame.f_back
        counts[";".join(reversed(names))] += 1

    signal.signal(signal.SIGPROF, sample)

    def switch() -> None:
        running = False
        while True:
            time.sleep(0.05)
            if on.exists() and not running:
                counts.clear()
                signal.setitimer(signal.ITIMER_PROF, interval, interval)
                running = True
            elif running and not on.exists():
                signal.setitimer(signal.ITIMER_PROF, 0)
                running = False
                Path(path).write_text("".join(f"{k} {v}\n" for k, v in list(counts.items())))

    threading.Thread(target=switch, name="bench-sampler", daemon=True).start()


def main() -> int:
    tree = Path(sys.argv[1]).resolve()
    sys.path.insert(0, str(tree))
    os.chdir(tree)
    counts = _count_parses()
    stats_path = os.environ.get("BENCH_STATS")
    if stats_path:

        def dump(signum: int, frame: object) -> None:
            Path(stats_path).write_text(json.dumps(counts))

        signal.signal(signal.SIGUSR1, dump)
    profile_path = os.environ.get("BENCH_CPROFILE")
    if profile_path:
        import cProfile
        import time

        prof: list[cProfile.Profile] = []

        def toggle_profile(signum: int, frame: object) -> None:
            if not prof:
                # CPU time of the event loop's thread, not wall time: on a busy machine a
                # wall-clock profile mostly shows where the process waited for a core.
                prof.append(cProfile.Profile(time.thread_time))
                prof[0].enable()
            else:
                prof[0].disable()
                prof.pop().dump_stats(profile_path)

        signal.signal(signal.SIGUSR2, toggle_profile)
    if os.environ.get("BENCH_SAMPLE"):
        _sampler(os.environ["BENCH_SAMPLE"])
    if os.environ.get("BENCH_UVLOOP"):  # the same tree on uvloop, for an A/B pair
        import asyncio

        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    import main as tree_main

    return tree_main.main(sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
