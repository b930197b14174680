"""A newcomer's first afternoon (issue 11, item 14): the banner names a Python that works,
`GET /` says where to go, and `chat` keeps log lines out of the prompt."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _env(tmp_path: Path) -> dict[str, str]:
    drop = {"DATABASE_URL", "REDIS_URL", "LOG_JSON", "LOG_LEVEL"}
    return {k: v for k, v in os.environ.items() if k not in drop} | {
        "DATA_DIR": str(tmp_path / "data")
    }


def _run(args: list[str], env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "main.py", *args], cwd=ROOT, env=env, input=stdin,
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip


async def test_the_root_is_a_landing_page(client: Any) -> None:
    resp = await client.get("/")
    html = await resp.text()
    assert resp.status == 200 and resp.content_type == "text/html"
    for link in ('href="/console/"', 'href="/map/"', 'href="/api/openapi.json"', 'href="/healthz"'):
        assert link in html
    assert "Content-Security-Policy" in resp.headers


def test_the_banner_names_the_python_that_works(tmp_path: Path) -> None:
    # Not migrated: serve prints its banner, then says to migrate and stops (nothing listens).
    out = _run(["serve"], _env(tmp_path))
    assert out.returncode == 2, out.stderr
    python = os.path.relpath(sys.executable, ROOT) if sys.executable.startswith(str(ROOT)) else (
        sys.executable
    )
    assert f"{python} main.py chat" in out.stdout
    assert "  Try it:              python main.py chat" not in out.stdout


def test_chat_keeps_log_lines_out_of_the_prompt(tmp_path: Path) -> None:
    env = _env(tmp_path)
    assert _run(["migrate"], env).returncode == 0
    out = _run(["chat", "--user", "me"], env, stdin="你好\n/quit\n")
    assert out.returncode == 0, out.stderr
    assert "邻里> " in out.stdout
    terminal = out.stdout + out.stderr
    # Before: JSON log lines ("embedded redis started", ...) in the middle of the dialogue.
    assert not [line for line in terminal.splitlines() if line.lstrip().startswith('{"')]
    assert "Traceback" not in terminal
    log = (tmp_path / "data" / "chat.log").read_text()
    assert "embedded redis started" in log
