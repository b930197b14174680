"""Settings, start-up, health, the NLU endpoint, logs and the command line."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from infra.redis import open_redis
from settings import SettingsError, ensure_wechat_token, load_settings

ROOT = Path(__file__).resolve().parent.parent


def test_bad_settings_name_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "eighty")
    monkeypatch.setenv("WECHAT_AES_KEY", "too-short-secret")
    with pytest.raises(SettingsError) as err:
        load_settings(None)
    text = str(err.value)
    assert "PORT" in text and "WECHAT_AES_KEY" in text
    assert "too-short-secret" not in text  # secrets are not echoed


def test_mini_program_credentials_go_together(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WECHAT_APP_SECRET", "oa-secret-value")
    with pytest.raises(SettingsError) as err:
        load_settings(None, mini_app_id="wx-mini")
    assert "MINI_APP_ID and MINI_APP_SECRET" in str(err.value)
    assert "oa-secret-value" not in str(err.value)  # a cross-field error shows no inputs
    alone = load_settings(None, wechat_app_id="wx-oa")
    assert alone.mini_credentials == ("wx-oa", "oa-secret-value")  # the demo: one app
    both = load_settings(None, mini_app_id="wx-mini", mini_app_secret="m")
    assert both.mini_credentials == ("wx-mini", "m")


def test_settings_read_a_dotenv_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PORT", raising=False)
    env = tmp_path / ".env"
    env.write_text(
        "PORT=9123\nREDIS_URL=redis://127.0.0.1:6379/3\nDATABASE_URL=\n", encoding="utf-8"
    )
    s = load_settings(env)
    assert s.port == 9123 and s.redis_url == "redis://127.0.0.1:6379/3" and s.database_url is None
    assert s.effective_database_url.startswith("sqlite://")
    with pytest.raises(SettingsError, match="DATABASE_URL"):
        load_settings(None, database_url="mysql://x")


def test_generated_token_is_stable(tmp_path: Path) -> None:
    first = ensure_wechat_token(load_settings(None, data_dir=tmp_path, wechat_token=""))
    second = ensure_wechat_token(load_settings(None, data_dir=tmp_path))
    assert first.wechat_token and first.wechat_token == second.wechat_token


async def test_embedded_redis_starts_persists_and_stops(tmp_path: Path) -> None:
    async with open_redis(None, tmp_path) as r:
        await r.set("linli:test", "kept")
        sock = r.connection_pool.connection_kwargs["path"]
    assert not Path(sock).exists()  # noqa: ASYNC240 - the server went away with the app
    async with open_redis(None, tmp_path) as r:
        assert await r.get("linli:test") == "kept"


async def test_served_app_moves_start_up_objects_out_of_the_collectors_sight(
    aiohttp_client: Any, make_settings: Any
) -> None:
    """`serve` freezes what start-up loaded, so a full collection (about 50 ms over the
    lexicon and pinyin tables) no longer stops the event loop; plain create_app does not."""
    import gc

    from main import create_app, served_app
    from server.lifecycle import GC_YOUNG

    threshold = gc.get_threshold()
    try:
        await aiohttp_client(create_app(make_settings()))
        assert gc.get_freeze_count() == 0
        assert gc.get_threshold()[0] != GC_YOUNG
        c = await aiohttp_client(served_app(make_settings()))
        assert gc.get_freeze_count() > 100_000
        assert gc.get_threshold()[0] == GC_YOUNG  # young collections every 20,000 allocations
        assert (await c.get("/healthz")).status == 200
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)


async def test_healthz_reports_database_and_redis(client: Any) -> None:
    resp = await client.get("/healthz")
    assert resp.status == 200
    assert await resp.json() == {"status": "ok", "database": "ok", "redis": "ok"}
    assert resp.headers["X-Request-Id"]


async def test_nlu_parse_endpoint(client: Any) -> None:
    resp = await client.post("/api/nlu/parse", json={"text": "冰箱不制冷了"})
    assert resp.status == 200
    body = await resp.json()
    assert body["intent"] == "find_craftsman" and body["category"] == "appliance_repair"
    assert 0 < body["confidence"] <= 1


@pytest.mark.parametrize(
    "payload",
    [
        b"not json",
        b"[1,2]",
        b'{"text": ""}',
        b'{"text": 5}',
        json.dumps({"text": "长" * 501}).encode(),
    ],
)
async def test_nlu_parse_rejects_bad_input_clearly(client: Any, payload: bytes) -> None:
    resp = await client.post(
        "/api/nlu/parse", data=payload, headers={"Content-Type": "application/json"}
    )
    assert resp.status == 400
    body = await resp.json()
    assert body["error"]["code"] in {"invalid", "invalid_json"} and body["error"]["message"]


async def test_info_logs_carry_no_message_content(
    client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    from tests.conftest import signed_query, url_with, wechat_xml

    caplog.set_level(logging.INFO)
    xml = wechat_xml(
        user="o-secret-openid", MsgType="text", Content="我的电话13800138000", MsgId=9001
    )
    await client.post(url_with(signed_query()), data=xml.encode())
    await client.post(
        url_with({"timestamp": "1", "nonce": "1", "signature": "x"}), data=xml.encode()
    )
    logged = "\n".join(
        f"{r.getMessage()} {r.__dict__}" for r in caplog.records if r.levelno >= logging.INFO
    )
    assert "13800138000" not in logged and "o-secret-openid" not in logged


def _cli(*args: str, env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "main.py", *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        text=True,
        capture_output=True,
        timeout=120,
    )


def test_cli_help_parse_migrate_and_chat(tmp_path: Path) -> None:
    env = {**os.environ, "DATA_DIR": str(tmp_path / "data"), "LOG_LEVEL": "WARNING"}
    for var in ("DATABASE_URL", "REDIS_URL", "PORT"):
        env.pop(var, None)
    helped = _cli("--help", env=env)
    assert helped.returncode == 0 and "serve" in helped.stdout and "chat" in helped.stdout
    parsed = _cli("parse", "鞋底开胶了", env=env)
    assert parsed.returncode == 0
    assert json.loads(parsed.stdout)["category"] == "shoe_repair"
    early = _cli("chat", env=env, stdin="你好\n")  # before `migrate`: say so, no traceback
    assert early.returncode == 2 and "python main.py migrate" in early.stderr
    assert "Traceback" not in early.stderr
    assert _cli("migrate", env=env).returncode == 0
    chat = _cli(
        "chat", "--user", "u-cli", env=env, stdin="你好\n/loc 31.23 121.47 家\n/image\n/quit\n"
    )
    assert chat.returncode == 0, chat.stderr
    assert (
        "找师傅" in chat.stdout and "已记住您的位置" in chat.stdout and "文字和语音" in chat.stdout
    )
    bad = _cli("migrate", env={**env, "PORT": "x"})
    assert bad.returncode == 2 and "PORT" in bad.stderr
