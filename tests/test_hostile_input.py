"""Hostile input (issue 11): nothing a resident types can stall, corrupt or flood the service.

Pathological inputs (long, nested, many digits, control characters, ...) go through the real
app. Caps and error answers are asserted exactly; time is only ever compared as a generous ratio
to a normal request (or a smaller input) measured in the same test, never in seconds.
"""

from __future__ import annotations

import time
from typing import Any

from aiohttp.test_utils import TestClient

from bot.nlu import default_parser
from community.roles import grant_role
from models.users import Role
from tests.conftest import signed_query, url_with, wechat_xml

# ==== the WeChat callback (/wechat) ============================================================

# A hostile message may take at most this many times a normal one (a normal one is a few ms;
# the backtracking report pattern took thousands of times longer).
SLOWER_AT_MOST = 30


async def _post_text(client: TestClient, text: str, msg_id: int, user: str = "o-hostile") -> Any:
    xml = wechat_xml(user, MsgType="text", Content=text, MsgId=msg_id)
    return await client.post(url_with(signed_query()), data=xml.encode())


async def _timed_text(client: TestClient, text: str, msg_id: int, user: str = "o-hostile") -> float:
    started = time.perf_counter()
    resp = await _post_text(client, text, msg_id, user)
    assert resp.status == 200, await resp.text()
    await resp.read()
    return time.perf_counter() - started


async def _normal_time(client: TestClient, first_id: int) -> float:
    """The slowest of a few ordinary messages, after one to warm up."""
    await _timed_text(client, "帮助", first_id)
    return max([await _timed_text(client, "帮助", first_id + k) for k in range(1, 4)])


async def test_runs_of_digits_answer_as_fast_as_a_normal_message(client: TestClient) -> None:
    """The report pattern backtracked exponentially: 29 "1"s took 15 s, before any role check,
    on the event loop (every other request waited)."""
    normal = await _normal_time(client, 9100)
    for k, text in enumerate(
        [
            "1" * 29,
            "1 " * 29,
            "1号" * 29,
            "1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 都送到了吗",
            "1" * 29 + "送到",
        ]
    ):
        # the faster of two deliveries (two message ids): one pause of the machine is not a bug
        took = min([await _timed_text(client, text, 9200 + 2 * k + j) for j in range(2)])
        assert took < SLOWER_AT_MOST * normal, (text, took, normal)


async def test_a_volunteer_reports_many_numbers_at_once(client: TestClient) -> None:
    await grant_role("o-volunteer", Role.VOLUNTEER, None, "1-5号楼")
    text = "1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 都送到了"
    resp = await _post_text(client, text, 9300, user="o-volunteer")
    body = await resp.text()
    # No roster today: understood as a report of the 18 numbers, none on the volunteer's list.
    assert "没有您负责的第1、2、3、4、5、6、7、8、9、10、11、12、13、14、15、16、17、18号" in body


def _best_parse_time(text: str) -> float:
    parser = default_parser()
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        parser.parse(text, cache=False)
        best = min(best, time.perf_counter() - started)
    return best


def test_nlu_work_grows_linearly_with_the_text() -> None:
    """Matching compared every lexicon match with every other: "找裁缝"x1300 took 1.6 s.
    Sixteen times the text may take about sixteen times as long, not 256 times."""
    default_parser().parse("预热", cache=False)
    for unit in ("找裁缝", "找采缝", "修鞋配钥匙", "1号楼"):
        small, large = _best_parse_time(unit * 100), _best_parse_time(unit * 1600)
        assert large < 40 * small, (unit, small, large)


# ==== the REST API and the importers ===========================================================
# (cases for the mini-program API and the craftsman/menu importers go here)
