"""Hostile input (issue 11): nothing a resident types can stall, corrupt or flood the service.

Pathological inputs (long, nested, many digits, control characters, ...) go through the real
app. Caps and error answers are asserted exactly; time is only ever compared as a generous ratio
to a normal request (or a smaller input) measured in the same test, never in seconds.
"""

from __future__ import annotations

import ast
import asyncio
import csv
import datetime as dt
import importlib
import io
import json
import math
import re
import statistics
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path
from re import _constants as sre  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any
from xml.etree import ElementTree

import pytest
from aiohttp.test_utils import TestClient
from openpyxl import Workbook
from tortoise import connections
from wechatpy.crypto import WeChatCrypto

from bot import forms, texts
from bot.context import SHANGHAI, Context
from bot.dispatch import build_router
from bot.forms import Form, Step, text_step
from bot.messages import Incoming, Kind
from bot.nearby import ASK_LOCATION
from bot.nlu import default_parser
from bot.nlu.parser import NLU_MAX_CHARS
from bot.router import Router, kind, words
from canteen.cli import add_canteen
from canteen.service import set_subscription
from community.roles import grant_role
from craftsman_directory import index
from craftsman_directory import service as directory_service
from craftsman_directory.importer import COLUMNS, import_file
from craftsman_directory.service import DirectoryError
from delivery import roster, service
from handlers.api_v1 import document_key
from handlers.keys import bot_key
from handlers.wechat import MAX_BODY_BYTES
from infra import keys
from infra.text import printable
from models.canteen import CanteenMeal, Meal, Menu
from models.delivery import MealSlot
from models.directory import Craftsman
from models.push import OutboxMessage
from models.users import Role
from tests.api_support import Api, grant, openid_of
from tests.chat_support import Chat
from tests.conftest import (
    AES_KEY,
    APP_ID,
    TOKEN,
    lunch_and_dinner_canteen,
    signed_query,
    url_with,
    wechat_xml,
)
from tests.console_support import console_login, make_staff
from tests.directory_support import HOME, freeze, make_craftsman, say, send_location
from tests.test_delivery import TAIL, THU, WED, at, sign_up
from tests.test_wechat_callback import _encrypted_body

# ==== the WeChat callback (/wechat) ============================================================

# A hostile message may take at most this many times a normal one. A normal one is a few
# milliseconds; the longest texts that fit give the NLU its full 300 characters, some twenty
# times a usual sentence (about ten times the time). The backtracking report pattern took
# thousands of times longer, the NLU reading a whole 16 KB text about eighty times.
SLOWER_AT_MOST = 40


async def _post_text(client: TestClient, text: str, msg_id: int, user: str = "o-hostile") -> Any:
    xml = wechat_xml(user, MsgType="text", Content=text, MsgId=msg_id)
    return await client.post(url_with(signed_query()), data=xml.encode())


async def _timed_text(client: TestClient, text: str, msg_id: int, user: str = "o-hostile") -> float:
    started = time.perf_counter()
    resp = await _post_text(client, text, msg_id, user)
    assert resp.status == 200, await resp.text()
    await resp.read()
    return time.perf_counter() - started


# What residents send every day (each parsed afresh: no two alike).
EVERYDAY = ["帮助", "冰箱不制冷了，能找个师傅来修一下吗", "明天中午食堂吃什么", "7号楼楼道灯坏了"]


async def _normal_time(client: TestClient, first_id: int) -> float:
    """The median of ordinary messages, each said once before (first-use costs are not what
    residents usually wait for)."""
    times = []
    for k, text in enumerate(EVERYDAY):
        await _timed_text(client, text, first_id + 2 * k, user=f"o-warm-{k}")
        times.append(await _timed_text(client, text, first_id + 2 * k + 1, user=f"o-day-{k}"))
    return statistics.median(times)


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
        # the faster of two residents saying it: one pause of the machine is not a bug
        took = min(
            [
                await _timed_text(client, text, 9200 + 2 * k + j, user=f"o-hostile-{k}-{j}")
                for j in range(2)
            ]
        )
        assert took < SLOWER_AT_MOST * normal, (text, took, normal)


async def test_a_volunteer_reports_many_numbers_at_once(client: TestClient) -> None:
    await grant_role("o-volunteer", Role.VOLUNTEER, None, "1-5号楼")
    text = "1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 都送到了"
    resp = await _post_text(client, text, 9300, user="o-volunteer")
    body = await resp.text()
    # No roster today: understood as a report of the 18 numbers, none on the volunteer's list.
    assert "没有您负责的第1、2、3、4、5、6、7、8、9、10、11、12、13、14、15、16、17、18号" in body


def _near_the_cap(unit: str) -> str:
    """A text of `unit` as long as fits in one callback body."""
    room = MAX_BODY_BYTES - len(wechat_xml("o-hostile", MsgType="text", Content="", MsgId=1)) - 64
    return unit * (room // len(unit.encode()))


async def test_a_body_over_the_cap_is_refused_and_a_long_paste_fits(client: TestClient) -> None:
    """/wechat bodies were capped only by the app's 64 KB (a 58 KB text blocked the loop 30 s)."""
    resp = await _post_text(client, "找裁缝" * 2000, 9400)  # 18 KB
    assert resp.status == 413
    chain = "\n".join(f"{n}. {n % 9 + 1}号楼{n}0{n % 4 + 1}室 王阿姨 午餐 1份" for n in range(40))
    resp = await _post_text(client, "#接龙 明天午餐送餐\n" + chain, 9401)
    assert resp.status == 200


async def test_texts_as_long_as_fit_answer_about_as_fast_as_a_normal_message(
    client: TestClient,
) -> None:
    """The bot's work grows at most linearly with the text, and the NLU reads only its start:
    the longest texts that fit take a small multiple of a normal message, well inside the
    reply deadline."""
    normal = await _normal_time(client, 9500)
    units = ["找裁缝", "找采缝", "1 ", "1", " ", "号", "吗", "发布菜单 ", "<![CDATA[", "送到"]
    for k, unit in enumerate(units):
        text = _near_the_cap(unit)
        took = min(
            [
                await _timed_text(client, text, 9600 + 2 * k + j, user=f"o-hostile-{k}-{j}")
                for j in range(2)
            ]
        )
        assert took < SLOWER_AT_MOST * normal, (unit, took, normal)


def test_the_nlu_reads_only_the_start_of_a_long_text() -> None:
    parser = default_parser()
    assert parser.parse("找裁缝" + "。" * 5000, cache=False).intent == "find_craftsman"
    assert parser.parse("。" * NLU_MAX_CHARS + "找裁缝", cache=False).intent != "find_craftsman"


def _best_parse_time(text: str) -> float:
    """The parser's own work on the whole text (parse() itself reads only a prefix)."""
    parser, today = default_parser(), dt.date(2026, 11, 30)
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        parser._parse(text, today)
        best = min(best, time.perf_counter() - started)
    return best


def test_nlu_work_grows_linearly_with_the_text() -> None:
    """Matching compared every lexicon match with every other: "找裁缝"x1300 took 1.6 s.
    Sixteen times the text may take about sixteen times as long, not 256 times."""
    default_parser().parse("预热", cache=False)
    for unit in ("找裁缝", "找采缝", "修鞋配钥匙", "1号楼"):
        for _ in range(3):  # slow three times running, not once on a busy machine
            small, large = _best_parse_time(unit * 100), _best_parse_time(unit * 1600)
            if large < 64 * small:
                break
        assert large < 64 * small, (unit, small, large)


# ---- text XML cannot carry, and CDATA ends ----------------------------------------------------
# A name holding "]]>" or "\x01" (accepted by the API, invisible in the console) made the passive
# reply malformed for every resident whose search listed it, in plain and AES mode.

STORED_TEXTS = [
    "王]]>师傅",
    "]]>",
    "]]]]>>",
    "<![CDATA[x]]>y",
    "</Content></xml>",
    "&amp; < & >",
    "名字\x01",
    "".join(map(chr, range(32))) + "可见",
    "\ufffe\uffff尾",
    "\ud800孤",
    "\x00",
    "😀\u200b零宽",
]


async def _reply_content(client: TestClient, xml: str, sealed: bool) -> str:
    """The reply's Content, read by a strict XML parser (after decrypting, in AES mode)."""
    if not sealed:
        resp = await client.post(url_with(signed_query()), data=xml.encode())
        assert resp.status == 200, await resp.text()
        if await resp.text() == "success":  # nothing to say
            return ""
        return ElementTree.fromstring(await resp.read()).findtext("Content") or ""
    ts, nonce = str(int(time.time())), "31415926"
    body, msg_sig = _encrypted_body(xml, nonce, ts)
    query = signed_query(timestamp=int(ts), nonce=nonce, encrypt_type="aes", msg_signature=msg_sig)
    resp = await client.post(url_with(query), data=body.encode())
    assert resp.status == 200, await resp.text()
    if await resp.text() == "success":
        return ""
    outer = ElementTree.fromstring(await resp.read())
    plain = WeChatCrypto(TOKEN, AES_KEY, APP_ID).decrypt_message(
        await resp.text(),
        outer.findtext("MsgSignature"),
        outer.findtext("TimeStamp"),
        outer.findtext("Nonce"),
    )
    return ElementTree.fromstring(plain.encode()).findtext("Content") or ""


async def test_every_reply_parses_whatever_its_text_holds(client: TestClient) -> None:
    stored = Router("stored-text")

    @stored.message(kind(Kind.TEXT))
    async def say_stored(ctx: Context) -> str:
        return STORED_TEXTS[int(ctx.msg.text)]

    client.app[bot_key].use_router(build_router(stored))
    for k, text in enumerate(STORED_TEXTS):
        for sealed in (False, True):
            xml = wechat_xml(MsgType="text", Content=str(k), MsgId=9800 + 2 * k + sealed)
            content = await _reply_content(client, xml, sealed)
            # (an XML parser reads a CR as a line feed)
            expected = printable(text).replace("\r\n", "\n").replace("\r", "\n")
            assert content == expected, (text, sealed)


async def test_a_name_with_a_cdata_end_or_a_control_character_never_breaks_a_search(
    client: TestClient, bot: Any
) -> None:
    api = Api(client, client.app[document_key])
    owner, admin = await api.login("cdata-owner"), await api.login("cdata-admin")
    await grant("cdata-admin", Role.ADMIN)
    form = {
        "categories": ["裁缝"],
        "description": "改裤脚",
        "lat": HOME[0],
        "lng": HOME[1],
        "address": "幸福小区3号楼",
        "hours": "24/7",
        "phone": "13800138000",
    }
    refused = await api.call("POST", "/api/craftsmen", owner, json={**form, "name": "王\x01师傅"})
    assert refused.status == 400 and "name" in refused.body["error"]["fields"]
    made = await api.call("POST", "/api/craftsmen", owner, json={**form, "name": "王]]>师傅"})
    assert made.status == 201, made.body
    approved = await api.call("POST", f"/api/admin/craftsmen/{made.body['id']}/approve", admin)
    assert approved.status == 200
    # ...and one stored before input was cleaned
    await make_craftsman(bot, "李\x01师傅]]>", ["tailor"], 150)
    for sealed in (False, True):
        user = f"o-cdata-{sealed}"
        asked = wechat_xml(user, MsgType="text", Content="找裁缝", MsgId=9900 + sealed)
        await _reply_content(client, asked, sealed)
        where = wechat_xml(
            user,
            MsgType="location",
            Location_X=HOME[0],
            Location_Y=HOME[1],
            Scale=15,
            Label="人民广场",
            MsgId=9910 + sealed,
        )
        listed = await _reply_content(client, where, sealed)
        assert "王]]>师傅" in listed and "李师傅]]>" in listed, listed


async def test_control_characters_are_dropped_where_text_comes_in(
    client: TestClient, fake_wechat: Any, tmp_path: Path
) -> None:
    # chat, whatever the channel
    assert Incoming.of_text("o-x", "7号楼\x01楼道灯\x1f坏了\x00").text == "7号楼楼道灯坏了"
    # importers
    sheet = tmp_path / "craftsmen.csv"
    row = ["张\x02师傅", "修鞋", "13800000002", "幸福小区5号楼", str(HOME[0]), str(HOME[1])]
    with sheet.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([COLUMNS, row + [""] * (len(COLUMNS) - len(row))])
    report = await import_file(sheet)
    assert not report.errors, report.errors
    assert await Craftsman.filter(name="张师傅").exists()
    # the console: staff cannot see them in what they paste
    canteen = await add_canteen("幸福里爱心食堂", "3号楼底商", 31.23, 121.47, [], ["lunch="])
    staff = await make_staff("o-cdata-staff", Role.CANTEEN_STAFF, canteen)
    csrf = await console_login(client, fake_wechat, staff)
    menu = "发布菜单 明天午餐\n热菜：红烧\x01肉、青\x1b菜\n10元"
    preview = await client.post("/console/menus/preview", data={"csrf": csrf, "text": menu})
    html = await preview.text()
    assert preview.status == 200 and "红烧肉" in html and "青菜" in html


# ---- every event WeChat sends, and what makes a delivery the same ------------------------------


def _event_xml(user: str, event: str, inner: str = "", when: int | None = None) -> str:
    return (
        f"<xml><ToUserName><![CDATA[gh_linli]]></ToUserName>"
        f"<FromUserName><![CDATA[{user}]]></FromUserName>"
        f"<CreateTime>{when or int(time.time())}</CreateTime>"
        f"<MsgType><![CDATA[event]]></MsgType>"
        + (f"<Event><![CDATA[{event}]]></Event>" if event else "")
        + f"{inner}</xml>"
    )


# As WeChat sends them (its documentation's samples), several unknown to wechatpy 1.8.18.
EVENTS = {
    "subscribe_msg_popup_event": "<SubscribeMsgPopupEvent><List><TemplateId><![CDATA[VRR0]]>"
    "</TemplateId><SubscribeStatusString><![CDATA[accept]]></SubscribeStatusString><PopupScene>2"
    "</PopupScene></List><List><TemplateId><![CDATA[9nLI]]></TemplateId><SubscribeStatusString>"
    "<![CDATA[reject]]></SubscribeStatusString><PopupScene>2</PopupScene></List>"
    "</SubscribeMsgPopupEvent>",
    "subscribe_msg_change_event": "<SubscribeMsgChangeEvent><List><TemplateId><![CDATA[VRR0]]>"
    "</TemplateId><SubscribeStatusString><![CDATA[reject]]></SubscribeStatusString></List>"
    "</SubscribeMsgChangeEvent>",
    "subscribe_msg_sent_event": "<SubscribeMsgSentEvent><List><TemplateId><![CDATA[VRR0]]>"
    "</TemplateId><MsgID>1700827132819554304</MsgID><ErrorCode>0</ErrorCode><ErrorStatus>"
    "<![CDATA[success]]></ErrorStatus></List></SubscribeMsgSentEvent>",
    "PUBLISHJOBFINISH": "<PublishEventInfo><publish_id>2247503051</publish_id><publish_status>0"
    "</publish_status><article_id><![CDATA[b5O2OUs25HBxRceL7hfReg]]></article_id><article_detail>"
    "<count>1</count><item><idx>1</idx><article_url><![CDATA[https://mp.weixin.qq.com/s/x]]>"
    "</article_url></item></article_detail></PublishEventInfo>",
    "TEMPLATESENDJOBFINISH": "<MsgID>200163836</MsgID><Status><![CDATA[success]]></Status>",
    "MASSSENDJOBFINISH": "<MsgID>1000001625</MsgID><Status><![CDATA[err(30003)]]></Status>"
    "<TotalCount>0</TotalCount><FilterCount>0</FilterCount><SentCount>0</SentCount><ErrorCount>0"
    "</ErrorCount><CopyrightCheckResult><Count>2</Count><ResultList><item><ArticleIdx>1"
    "</ArticleIdx></item></ResultList><CheckState>2</CheckState></CopyrightCheckResult>",
    "VIEW_MINIPROGRAM": "<EventKey><![CDATA[pages/index/index]]></EventKey><MenuId>MENUID</MenuId>",
    "user_authorization_revoke": "<OpenID><![CDATA[o-ev]]></OpenID><AppID><![CDATA[wx1]]></AppID>"
    "<RevokeInfo><![CDATA[1]]></RevokeInfo>",
    "user_info_modified": "<OpenID><![CDATA[o-ev]]></OpenID><AppID><![CDATA[wx1]]></AppID>",
    "location_select": "<EventKey><![CDATA[6]]></EventKey><SendLocationInfo><Location_X>"
    "<![CDATA[23]]></Location_X><Location_Y><![CDATA[113]]></Location_Y><Scale><![CDATA[15]]>"
    "</Scale><Label><![CDATA[广州市海珠区]]></Label><Poiname><![CDATA[]]></Poiname>"
    "</SendLocationInfo>",
    "pic_weixin": "<EventKey><![CDATA[6]]></EventKey><SendPicsInfo><Count>1</Count><PicList>"
    "<item><PicMd5Sum><![CDATA[5a75aaca956d97be686719218f275c6b]]></PicMd5Sum></item></PicList>"
    "</SendPicsInfo>",
    "scancode_waitmsg": "<EventKey><![CDATA[6]]></EventKey><ScanCodeInfo><ScanType>"
    "<![CDATA[qrcode]]></ScanType><ScanResult><![CDATA[1]]></ScanResult></ScanCodeInfo>",
    "a_future_event": "<Whatever><Nested><Deeper>1</Deeper></Nested></Whatever>",
    "": "",  # no Event at all
}


async def test_every_event_wechat_sends_gets_200(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    """Events wechatpy has no class for were a 500 with a traceback, so WeChat retried them."""
    for k, (event, inner) in enumerate(EVENTS.items()):
        for sealed in (False, True):
            xml = _event_xml(f"o-event-{k}-{sealed}", event, inner)
            await _reply_content(client, xml, sealed)  # 200, and a reply (if any) that parses
    assert [r.getMessage() for r in caplog.records if r.levelname == "ERROR"] == []


def _counting(seen: list[tuple[str, str, str]]) -> Router:
    counting = Router("counting")

    @counting.message(lambda ctx: True)
    async def count(ctx: Context) -> str:
        seen.append((ctx.msg.user, ctx.msg.event, ctx.msg.event_key or ctx.msg.text))
        return f"第{len(seen)}次"

    return counting


async def test_two_menu_clicks_in_one_second_are_two_events(client: TestClient) -> None:
    seen: list[tuple[str, str, str]] = []
    client.app[bot_key].use_router(_counting(seen))
    when = int(time.time())
    for key in ("MENU_FIND", "MENU_MEALS", "MENU_FIND"):  # the last is WeChat's retry
        inner = f"<EventKey><![CDATA[{key}]]></EventKey>"
        xml = _event_xml("o-clicker", "CLICK", inner, when)
        resp = await client.post(url_with(signed_query()), data=xml.encode())
        assert resp.status == 200
    assert seen == [("o-clicker", "click", "MENU_FIND"), ("o-clicker", "click", "MENU_MEALS")]


async def test_one_message_id_from_two_senders_is_two_messages(client: TestClient) -> None:
    """A MsgId is unique for its sender only: the second resident was given the first's answer."""
    seen: list[tuple[str, str, str]] = []
    client.app[bot_key].use_router(_counting(seen))
    answers = {}
    for user in ("o-first", "o-second", "o-first"):  # the last is WeChat's retry
        xml = wechat_xml(user, MsgType="text", Content=f"我是{user}", MsgId=424242)
        resp = await client.post(url_with(signed_query()), data=xml.encode())
        answers[user] = ElementTree.fromstring(await resp.read()).findtext("Content")
    assert [who for who, _, _ in seen] == ["o-first", "o-second"]
    assert answers == {"o-first": "第1次", "o-second": "第2次"}


# ---- every pattern applied to user input -------------------------------------------------------
# Regular expressions run on what residents, staff and importers send. Two checks over every
# `re.*` call in the project: no nested quantifiers (the shape that backtracks exponentially),
# and, on inputs built from each pattern's own characters, work that grows linearly with the
# input (polynomial backtracking: "\s+(?=...\s*$)" over a run of spaces was cubic).

ROOT = Path(__file__).resolve().parent.parent
_NOT_PRODUCT = {".git", ".venv", "tests", "bench", "migrations", "data", "linli.egg-info"}
_RE_FUNCTIONS = {
    "compile",
    "match",
    "fullmatch",
    "search",
    "findall",
    "finditer",
    "sub",
    "subn",
    "split",
}
# Patterns built at run time, and why they are safe.
_BUILT_AT_RUN_TIME = {
    # SLOW_PACE.pattern and NORMAL_PACE.pattern, checked as module constants
    ("craftsman_directory.router", "pattern"): "compiled module patterns, audited as such",
    # an alternation of re.escape()d lexicon words: no quantifier at all
    (
        "bot.nlu.parser",
        "'|'.join((re.escape(w) for w in sorted(lexicon.dialect, key=len, reverse=True)))",
    ): "escaped literal words",
    # a meal's words (slots._MEALS), escaped, as one alternation: no quantifier at all
    ("bot.nlu.slots", "'|'.join(map(re.escape, words))"): "escaped literal meal words",
}


def _project_patterns() -> list[tuple[str, str | bytes]]:
    """(where, pattern) of every re.* call with a pattern the audit can resolve."""
    found: list[tuple[str, str | bytes]] = []
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT)
        if rel.parts[0] in _NOT_PRODUCT or rel.parts[0].startswith("."):
            continue
        module = ".".join(rel.with_suffix("").parts).removesuffix(".__init__")
        namespace: dict[str, Any] | None = None
        source = path.read_text(encoding="utf-8")
        if "names=" in source:  # form steps name their fields with a pattern (Step.names)
            namespace = vars(importlib.import_module(module))
            for name, value in namespace.items():
                for step in getattr(value, "steps", None) or ():
                    if isinstance(getattr(step, "names", None), str) and step.names:
                        found.append((f"{module}.{name}.{step.name}", step.names))
        for node in ast.walk(ast.parse(source)):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "re"
                and node.func.attr in _RE_FUNCTIONS
                and node.args
            ):
                continue
            arg, where = node.args[0], f"{rel}:{node.lineno}"
            if isinstance(arg, ast.Constant):
                found.append((where, arg.value))
                continue
            if (module, ast.unparse(arg)) in _BUILT_AT_RUN_TIME or _step_names(arg):
                continue
            namespace = namespace or vars(importlib.import_module(module))
            try:
                value = _evaluate(arg, where, namespace)
            except Exception as exc:
                raise AssertionError(
                    f"{where}: cannot audit the pattern {ast.unparse(arg)!r} ({exc!r}); "
                    "add it to _BUILT_AT_RUN_TIME with why it is safe"
                ) from None
            found.append((where, value.pattern if isinstance(value, re.Pattern) else value))
    return found


def _step_names(node: ast.expr) -> bool:
    """`step.names`: a form step's pattern, audited from the forms themselves (above)."""
    return isinstance(node, ast.Attribute) and node.attr == "names"


def _evaluate(node: ast.expr, where: str, namespace: dict[str, Any]) -> Any:
    """A pattern expression's value; in an f-string, `re.escape(anything)` stands for a
    literal (what it is escaped to) and `step.names` for a word (audited on its own), other
    parts must be module constants."""
    if isinstance(node, ast.JoinedStr):
        parts = []
        for part in node.values:
            if isinstance(part, ast.Constant):
                parts.append(str(part.value))
            elif isinstance(part, ast.FormattedValue) and (
                _step_names(part.value)
                or isinstance(part.value, ast.Call)
                and ast.unparse(part.value.func) == "re.escape"
            ):
                parts.append("x")
            else:
                assert isinstance(part, ast.FormattedValue)
                parts.append(str(_evaluate(part.value, where, namespace)))
        return "".join(parts)
    return eval(compile(ast.Expression(node), where, "eval"), namespace)


_REPEATS = {sre.MAX_REPEAT, sre.MIN_REPEAT}


def _nested_quantifiers(items: Any, inside: bool = False) -> int:
    """How many repeats sit inside another repeat (possessive and atomic ones never backtrack)."""
    count = 0
    for op, arg in items:
        if op in _REPEATS or op is sre.POSSESSIVE_REPEAT:
            low, high, body = arg
            many = high is sre.MAXREPEAT or high > 1
            count += many and inside and op in _REPEATS
            count += _nested_quantifiers(body, inside or (many and op in _REPEATS))
        elif op is sre.SUBPATTERN:
            count += _nested_quantifiers(arg[-1], inside)
        elif op is sre.BRANCH:
            count += sum(_nested_quantifiers(b, inside) for b in arg[1])
        elif op in (sre.ASSERT, sre.ASSERT_NOT):
            count += _nested_quantifiers(arg[1], inside)
        elif op is sre.GROUPREF_EXISTS:
            count += sum(_nested_quantifiers(b, inside) for b in arg[1:] if b)
    return count


def _parsed(pattern: str | bytes) -> Any:
    return sre_parse.parse(pattern.decode("latin-1") if isinstance(pattern, bytes) else pattern)


def test_no_pattern_on_user_input_nests_quantifiers() -> None:
    patterns = _project_patterns()
    assert len(patterns) > 50  # the audit sees the project's patterns
    nested = [(where, p) for where, p in patterns if _nested_quantifiers(_parsed(p))]
    assert nested == []


def test_the_audit_recognises_the_backtracking_shapes() -> None:
    assert _nested_quantifiers(_parsed(r"^\s*((?:\d{1,3}\s*号?[\s,，、和]*)+)\s*送到$"))
    assert _nested_quantifiers(_parsed(r"(a+)+b")) and _nested_quantifiers(_parsed(r"(?:x|y*)*"))
    assert not _nested_quantifiers(_parsed(r"[A-Z][a-z](?:[-,][A-Z][a-z])*"))
    assert not _nested_quantifiers(_parsed(r"(?:\d++,)*"))  # possessive: no backtracking


def _pattern_chars(items: Any, repeated: bool, out: dict[str, bool]) -> None:
    """The characters a pattern can match (a few per class), and whether inside a repeat."""
    for op, arg in items:
        if op is sre.LITERAL:
            out[chr(arg)] = out.get(chr(arg), False) or repeated
        elif op is sre.IN:
            for sub_op, sub_arg in arg[:4]:
                if sub_op is sre.LITERAL:
                    chars = [chr(sub_arg)]
                elif sub_op is sre.RANGE:
                    chars = [chr(sub_arg[0])]
                elif sub_op is sre.CATEGORY:
                    chars = [_CATEGORY_SAMPLE.get(sub_arg, "a")]
                else:
                    chars = []
                for ch in chars:
                    out[ch] = out.get(ch, False) or repeated
        elif op is sre.ANY:
            out["a"] = out.get("a", False) or repeated
        elif op in _REPEATS or op is sre.POSSESSIVE_REPEAT:
            low, high, body = arg
            _pattern_chars(body, repeated or high is sre.MAXREPEAT or high > 1, out)
        elif op is sre.SUBPATTERN:
            _pattern_chars(arg[-1], repeated, out)
        elif op is sre.BRANCH:
            for b in arg[1]:
                _pattern_chars(b, repeated, out)
        elif op in (sre.ASSERT, sre.ASSERT_NOT):
            _pattern_chars(arg[1], repeated, out)


_CATEGORY_SAMPLE = {
    sre.CATEGORY_DIGIT: "1",
    sre.CATEGORY_SPACE: " ",
    sre.CATEGORY_WORD: "a",
    sre.CATEGORY_NOT_DIGIT: "a",
    sre.CATEGORY_NOT_SPACE: "a",
    sre.CATEGORY_NOT_WORD: " ",
}


def _literal_runs(items: Any, out: list[str]) -> None:
    """Literal strings of two characters or more the pattern spells ("<![CDATA[", "号楼")."""
    run = ""
    for op, arg in [*items, (None, None)]:
        if op is sre.LITERAL:
            run += chr(arg)
            continue
        if len(run) > 1:
            out.append(run)
        run = ""
        if op in _REPEATS or op is sre.POSSESSIVE_REPEAT:
            _literal_runs(arg[2], out)
        elif op is sre.SUBPATTERN:
            _literal_runs(arg[-1], out)
        elif op is sre.BRANCH:
            for b in arg[1]:
                _literal_runs(b, out)
        elif op in (sre.ASSERT, sre.ASSERT_NOT):
            _literal_runs(arg[1], out)


def _hostile_texts(pattern: str | bytes, length: int) -> list[str]:
    """Runs of each character and literal word the pattern knows, and of each pair of its
    repeated characters, ending on a character it does not: what makes a backtracking pattern
    try every split."""
    chars: dict[str, bool] = {}
    parsed = _parsed(pattern)
    _pattern_chars(parsed, False, chars)
    words: list[str] = []
    _literal_runs(parsed, words)
    repeated = sorted(ch for ch, rep in chars.items() if rep)[:12]
    units = sorted(chars) + [a + b for a in repeated for b in repeated if a < b] + ["1 ", "1号"]
    units += sorted(set(words))[:20]
    return [(unit * (length // len(unit) + 1))[:length] + "\x01" for unit in units]


def _best_time(compiled: re.Pattern[Any], text: str | bytes, tries: int) -> float:
    best = float("inf")
    for _ in range(tries):
        started = time.perf_counter()
        compiled.findall(text)
        best = min(best, time.perf_counter() - started)
    return best


def test_every_pattern_on_user_input_works_in_linear_time() -> None:
    """Sixteen times the input may take about sixteen times as long (not 256 or 4096 times)."""
    slow = []
    for where, pattern in _project_patterns():
        compiled = re.compile(pattern)
        for short, long in zip(
            _hostile_texts(pattern, 100), _hostile_texts(pattern, 1600), strict=True
        ):
            if isinstance(pattern, bytes):
                short, long = short.encode(), long.encode()  # type: ignore[assignment]
            # A busy machine can make one measurement look slow: slow three times running.
            for _ in range(3):
                small, large = _best_time(compiled, short, 7), _best_time(compiled, long, 3)
                if large <= 64 * small:
                    break
            else:
                slow.append((where, long[:3], round(large / small)))
    # To fix one: a possessive quantifier (`\s*+`), a lookbehind so that a run is tried once,
    # from its start (`(?<!\d)\d+份`), no quantified group inside a quantifier, or no regex.
    assert not slow, "\n".join(map(str, slow))


# ==== the REST API and the importers ===========================================================
# Non-finite numbers (a 400 in the API, a row error in the importers, the location asked again in
# chat, stored NaN rows kept out of the index), huge and hostile spreadsheets, formulas in the
# deliveries CSV, a user's simultaneous messages, republished menus and booking floods.

HOUR = dt.timedelta(hours=1)
FRI = dt.date(2026, 11, 27)
PROJECT = Path(__file__).resolve().parent.parent
GOOD_ROW = ["王师傅", "裁缝", "13800000001", "幸福小区3号楼", "31.2310", "121.4737", "", "", ""]


def far_cell_xlsx(path: Path) -> Path:
    """A few KB: a header, one good row and one cell at XFD1048576, so the sheet declares
    <dimension ref="A1:XFD1048576"/> (openpyxl writes what Excel would)."""
    wb = Workbook()
    ws = wb.active
    ws.append(list(COLUMNS))
    ws.append(GOOD_ROW)
    ws["XFD1048576"] = "x"
    wb.save(path)
    return path


def test_a_far_cell_xlsx_stops_with_a_message_in_bounded_memory(tmp_path: Path) -> None:
    """Read in a child process capped at 1 GB of address space: before the bound, openpyxl
    padded a million rows to 16384 columns and the import took all the machine's memory."""
    path = far_cell_xlsx(tmp_path / "far.xlsx")
    assert path.stat().st_size < 10_000
    script = textwrap.dedent(
        f"""
        import resource, sys
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
        from craftsman_directory.importer import read_rows
        from craftsman_directory.service import DirectoryError
        try:
            read_rows(__import__("pathlib").Path({str(path)!r}))
        except DirectoryError as exc:
            print("refused:", exc)
        except MemoryError:
            print("memory")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=PROJECT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("refused:"), done.stdout
    assert "最多读5000行" in done.stdout


async def test_sheets_past_the_row_column_or_size_bounds_write_nothing(
    bot: Any, tmp_path: Path
) -> None:
    wide = Workbook()
    wide.active.append([*COLUMNS, *(f"x{i}" for i in range(40))])
    wide.active.append(GOOD_ROW)
    wide.save(tmp_path / "wide.xlsx")
    long_csv = tmp_path / "long.csv"
    with long_csv.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(COLUMNS)
        writer.writerows([GOOD_ROW] * 6000)
    big = tmp_path / "big.csv"
    big.write_bytes(b"name,category,phone,lat,lng\n" + b"a" * (6 * 1024 * 1024))
    huge_field = tmp_path / "field.csv"
    huge_field.write_text("name,category,phone,lat,lng\n" + '"' + "a" * 200_000 + '"\n')
    for path, expected in (
        (tmp_path / "wide.xlsx", "最多读30列"),
        (long_csv, "最多读5000行"),
        (big, "文件太大了"),
        (huge_field, "CSV 文件读不了"),
    ):
        with pytest.raises(DirectoryError) as refused:  # the CLI prints "import failed: ..."
            await import_file(path, bot.services.redis)
        assert expected in str(refused.value), (path, refused.value)
    assert await Craftsman.all().count() == 0


async def test_non_finite_coordinates_are_a_row_error(bot: Any, tmp_path: Path) -> None:
    rows = [
        GOOD_ROW,
        ["李师傅", "裁缝", "13800000002", "", "nan", "121.47", "", "", ""],
        ["赵师傅", "裁缝", "13800000003", "", "31.23", "inf", "", "", ""],
        ["钱师傅", "裁缝", "13800000004", "", "-Infinity", "121.47", "", "", ""],
    ]
    path = tmp_path / "list.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(COLUMNS)
        writer.writerows(rows)
    report = await import_file(path, bot.services.redis)
    assert len(report.created) == 1
    assert report.errors == [(n, "经纬度不是有效的数字") for n in (3, 4, 5)]
    assert await Craftsman.all().count() == 1


# ---- the deliveries CSV ----------------------------------------------------------------------


def test_csv_cells_never_start_a_formula() -> None:
    from infra.spreadsheets import safe_row

    out = io.StringIO()
    hostile = ['=HYPERLINK("http://x")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\tx", "\rx"]
    csv.writer(out).writerow(safe_row([*hostile, "3号楼401", 2, "13800000001"]))
    cells = next(csv.reader(io.StringIO(out.getvalue())))
    assert all(c.startswith("'") for c in cells[:6]), cells
    assert cells[6:] == ["3号楼401", "2", "13800000001"]


async def test_the_deliveries_export_neutralises_formulas_in_residents_text(
    client: TestClient,
) -> None:
    """`export-deliveries` and GET /api/canteens/{id}/deliveries.csv both write export_csv."""
    canteen = await lunch_and_dinner_canteen()
    lunch = await CanteenMeal.get(canteen=canteen, meal=Meal.LUNCH)
    recipient = await service.save_recipient(
        "o-x",
        label="=1+1",
        address="@3号楼401",
        building="3",
        phone="13800000001",
        diet='=HYPERLINK("http://evil.example","少盐")',
    )
    day = dt.date(2026, 11, 26)
    await service.book(recipient, lunch, day, 1, service.cutoff_at(lunch, day) - HOUR)
    text = await roster.export_csv(canteen.pk, day)
    row = next(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert row["address"] == "'@3号楼401" and row["ordered_for"] == "'=1+1"
    assert row["diet"].startswith("'=HYPERLINK") and row["phone"] == "13800000001"
    assert row["count"] == "1" and row["date"] == "2026-11-26"


# ---- non-finite numbers ----------------------------------------------------------------------

REGISTRATION = {
    "name": "李师傅",
    "categories": ["裁缝"],
    "lat": HOME[0],
    "lng": HOME[1],
    "address": "幸福小区3号楼",
    "hours": "每天8:00-18:00",
    "phone": "13800138000",
}


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e999"])
async def test_the_api_answers_400_to_a_non_finite_number(client: TestClient, number: str) -> None:
    """Python's JSON parser takes NaN, Infinity and 1e999 (inf); NaN passed the schema's
    bounds and a craftsman was stored with lat NaN (PostgreSQL), or a misleading 409 (SQLite)."""
    api = Api(client, client.app[document_key])
    token = await api.login("r")
    body = json.dumps(REGISTRATION, ensure_ascii=False).replace(str(HOME[0]), number)
    answer = await api.call("POST", "/api/craftsmen", token, data=body.encode())
    assert answer.status == 400, answer.body
    assert answer.body["error"]["fields"] == {"lat": "不是有效的数字"}
    nested = '{"dishes": [{"name": "青菜"}], "price_cents": ' + number + "}"
    path = "/api/canteens/1/menus/2026-11-26/lunch"
    menu = await api.call("PUT", path, token, data=nested.encode())
    assert menu.status == 400 and menu.body["error"]["fields"] == {"price_cents": "不是有效的数字"}
    search = await api.get("/api/craftsmen", token, category="tailor", lat=number, lng=HOME[1])
    assert search.status == 400 and "lat" in search.body["error"]["fields"]
    assert await Craftsman.all().count() == 0


async def test_a_location_without_real_coordinates_is_asked_again(bot: Any) -> None:
    freeze(bot)
    await make_craftsman(bot, "近师傅", ["tailor"], 200, phone="13800000001")
    asked = await say(bot, "找裁缝")
    for lat, lng in ((math.nan, math.nan), (math.inf, HOME[1]), (HOME[0], -math.inf)):
        again = await send_location(bot, lat, lng)
        assert again == texts.LOCATION_UNUSABLE, again
    assert await bot.services.redis.get(keys.location("o-resident")) is None
    assert "近师傅" in await send_location(bot, *HOME)  # the waiting search goes on
    assert "近师傅" in asked or "位置" in asked
    # A NaN kept in Redis before the check is not used: the location is asked for again.
    await bot.services.redis.set(keys.location("o-resident"), '{"lat": NaN, "lng": 1, "label": ""}')
    assert await say(bot, "找裁缝") == ASK_LOCATION


async def test_stored_non_finite_coordinates_never_reach_geoadd_or_the_compound_centre(
    bot: Any,
) -> None:
    """Rows stored before the API refused them: on PostgreSQL a NaN (SQLite keeps NaN as NULL,
    so an infinity stands in for it there). The index rebuild at start-up skipped nothing and
    failed with "value is not a valid float" on every start; the compound centre became NaN."""
    freeze(bot)
    good = await make_craftsman(bot, "近师傅", ["tailor"], 200, compound="幸福小区")
    bad = await make_craftsman(bot, "坏师傅", ["tailor"], 300, compound="幸福小区")
    conn = connections.get("default")
    postgres = conn.capabilities.dialect == "postgres"
    value = "'NaN'::float8" if postgres else "9e999"
    await conn.execute_query(f"UPDATE craftsmen SET lat = {value} WHERE id = {bad.pk}")
    assert not math.isfinite((await Craftsman.get(pk=bad.pk)).lat)
    assert await index.rebuild(bot.services.redis) >= 1
    await index.sync(bot.services.redis, await Craftsman.get(pk=bad.pk))
    hits = await index.nearby(bot.services.redis, "tailor", *HOME, 5000)
    assert [h.card.id for h in hits] == [good.pk]
    found = await directory_service.compound_location("幸福小区")
    assert found is not None and found[1:] == (good.lat, good.lng)


# ---- one message at a time per user ----------------------------------------------------------

ANSWERS = 20
COLLECTED: list[dict[str, Any]] = []
TWENTY = Form(
    name="test.twenty_answers",
    title="二十问",
    steps=[Step(f"q{i}", f"第{i + 1}个？", text_step()) for i in range(ANSWERS)],
    on_done=lambda ctx, data: _collected(data),
)


async def _collected(data: dict[str, Any]) -> str:
    COLLECTED.append(dict(data))
    return "齐了"


def _twenty_router() -> Router:
    router = Router("twenty")

    @router.message(words("开始"))
    async def begin(ctx: Context) -> Any:
        return await forms.start(ctx, TWENTY)

    return router


async def test_twenty_simultaneous_answers_mid_form_lose_no_update(client: TestClient) -> None:
    """Answered side by side, the answers read the same step and the last write won: the form
    never finished, or finished with answers missing. In turn, every answer lands."""
    bot = client.app[bot_key]
    bot.use_router(build_router(_twenty_router()))
    COLLECTED.clear()
    user = "o-quick"
    start = await client.post(
        url_with(signed_query()),
        data=wechat_xml(user, MsgType="text", Content="开始", MsgId=70000).encode(),
    )
    assert "第1个" in await start.text()

    async def answer(i: int) -> str:
        xml = wechat_xml(user, MsgType="text", Content=f"答案{i}", MsgId=70001 + i)
        resp = await client.post(url_with(signed_query()), data=xml.encode())
        assert resp.status == 200
        return await resp.text()

    replies = await asyncio.gather(*(answer(i) for i in range(ANSWERS)))
    assert sum("齐了" in r for r in replies) == 1
    assert len(COLLECTED) == 1
    assert sorted(COLLECTED[0].values()) == sorted(f"答案{i}" for i in range(ANSWERS))
    assert await bot.services.redis.get(keys.turn(user)) is None  # every turn given back
    # The terminal and other channels answer through Bot.handle: in turn as well.
    COLLECTED.clear()
    await bot.handle(Incoming.of_text(user, "开始"))
    await asyncio.gather(*(bot.handle(Incoming.of_text(user, f"答案{i}")) for i in range(ANSWERS)))
    assert len(COLLECTED) == 1 and len(set(COLLECTED[0].values())) == ANSWERS


# ---- a menu published twice ------------------------------------------------------------------

STAFF = "o-staff"
MENU_POST = "发布菜单 明天午餐\n热菜：红烧肉、青菜\n汤：紫菜蛋花汤\n10元"
WEDNESDAY_3PM = dt.datetime(2026, 11, 25, 15, 0, tzinfo=SHANGHAI)


async def test_a_double_confirm_or_a_second_identical_post_publishes_once(
    client: TestClient,
) -> None:
    """Two 确认 at once published v1 and a 【菜单更正】 v2: every subscriber got two pushes."""
    bot = client.app[bot_key]
    bot.services.clock = lambda: WEDNESDAY_3PM
    canteen = await lunch_and_dinner_canteen(["robot-key-1"])
    await grant_role(STAFF, Role.CANTEEN_STAFF, canteen.pk, None)
    await set_subscription("o-a", True)

    async def post(text: str, msg_id: int) -> str:
        xml = wechat_xml(STAFF, MsgType="text", Content=text, MsgId=msg_id)
        resp = await client.post(url_with(signed_query()), data=xml.encode())
        return await resp.text()

    assert "确认" in await post(MENU_POST, 81000)
    both = await asyncio.gather(post("确认", 81001), post("确认", 81002))
    assert sum("已发布" in r for r in both) == 1 and not any("已更正" in r for r in both)
    # The same menu posted and confirmed again: nothing written, nothing pushed.
    await post(MENU_POST, 81003)
    assert "没有重复推送" in await post("确认", 81004)
    menu = await Menu.get()
    assert menu.version == 1
    assert sorted(await OutboxMessage.all().values_list("target", flat=True)) == [
        "o-a",
        "robot-key-1",
    ]


async def test_a_retried_identical_put_is_a_no_op(client: TestClient) -> None:
    bot = client.app[bot_key]
    bot.services.clock = lambda: WEDNESDAY_3PM
    canteen = await lunch_and_dinner_canteen()
    await grant("staff", Role.CANTEEN_STAFF, canteen)
    await set_subscription("o-a", True)
    api = Api(client, client.app[document_key])
    token = await api.login("staff")
    path = f"/api/canteens/{canteen.pk}/menus/2026-11-26/lunch"
    body = {"dishes": [{"name": "红烧肉", "kind": "hot"}], "price_cents": 1000}
    first, again = await asyncio.gather(
        api.call("PUT", path, token, json=body), api.call("PUT", path, token, json=body)
    )
    assert sorted([first.status, again.status]) == [200, 201]
    quiet = first if first.status == 200 else again
    assert quiet.body["pushed_to"] == {"residents": 0, "groups": 0}
    assert quiet.body["version"] == 1
    retry = await api.call("PUT", path, token, json=body)
    assert retry.status == 200 and retry.body["version"] == 1
    assert await OutboxMessage.all().count() == 1
    body["price_cents"] = 1200  # a real correction still goes out
    fixed = await api.call("PUT", path, token, json=body)
    assert fixed.status == 200 and fixed.body["version"] == 2
    assert await OutboxMessage.all().count() == 2


# ---- booking limits for residents ------------------------------------------------------------


async def _family(openid: str, n: int) -> list[Any]:
    return [
        await service.save_recipient(
            openid, label=f"家人{i}", address=f"3号楼{101 + i}", building="3", phone="13812345678"
        )
        for i in range(n)
    ]


async def test_one_account_cannot_book_every_place(client: TestClient) -> None:
    """10 recipients × 5 portions at once: the account holds at most its limit, the next
    resident still finds places; staff (or a staff booking) are not limited."""
    canteen = await lunch_and_dinner_canteen()
    lunch = await CanteenMeal.get(canteen=canteen, meal=Meal.LUNCH)
    early = at(WED, "08:00")
    family = await _family("o-greedy", 10)
    results = await asyncio.gather(*(service.book(r, lunch, THU, 5, early) for r in family))
    assert sum(b.count for b in results if b.result is service.Result.BOOKED) == 5
    limited = [b for b in results if b.result is service.Result.LIMIT]
    assert len(limited) == 9 and limited[0].reason == service.account_limit_text(6, 5)
    # Whichever recipient won the race holds the 5; the other nine each ask for one more.
    others = [
        r for r, b in zip(family, results, strict=True) if b.result is not service.Result.BOOKED
    ]
    ones = [await service.book(r, lunch, THU, 1, early) for r in others]
    assert [b.result for b in ones].count(service.Result.BOOKED) == 1  # 5 + 1 = 6
    slot = await MealSlot.get(canteen_id=canteen.pk, date=THU, meal=Meal.LUNCH)
    assert slot.booked == 6
    [neighbour] = await _family("o-next", 1)
    assert (await service.book(neighbour, lunch, THU, 2, early)).result is service.Result.BOOKED
    # Per canteen: a tighter per-recipient limit; staff and staff bookings are exempt.
    await add_canteen("幸福里爱心食堂", "3号楼底商", None, None, [], [], portions_per_recipient=2)
    assert (await service.book(neighbour, lunch, FRI, 3, early)).reason == (
        service.recipient_limit_text(2)
    )
    assert (await service.book(neighbour, lunch, FRI, 3, early, by_staff=True)).result is (
        service.Result.BOOKED
    )
    staff_family = await _family("o-staff", 3)
    await grant_role("o-staff", Role.CANTEEN_STAFF, canteen.pk, None)
    booked = [await service.book(r, lunch, THU, 4, early) for r in staff_family]
    assert {b.result for b in booked} == {service.Result.BOOKED}


async def test_chat_and_api_refuse_past_the_limit_with_the_same_words(client: TestClient) -> None:
    bot = client.app[bot_key]
    chat = Chat(bot, at(WED, "08:00"))
    canteen = await lunch_and_dinner_canteen()
    lunch = await CanteenMeal.get(canteen=canteen, meal=Meal.LUNCH)
    words_said = service.account_limit_text(6, 6)
    for r in await _family(openid_of("a"), 2):
        await service.book(r, lunch, THU, 3, at(WED, "08:00"))
    api = Api(client, client.app[document_key])
    token = await api.login("a")
    extra = await service.save_recipient(  # a third relative, same account
        openid_of("a"), label="我爸", address="3号楼301", building="3", phone="13812345678"
    )
    answer = await api.call(
        "POST",
        "/api/me/signups",
        token,
        json={"recipient_id": extra.pk, "meal": "lunch", "dates": [THU.isoformat()], "count": 1},
    )
    assert answer.status == 200, answer.body
    [result] = answer.body["results"]
    assert result["result"] == "limit" and result["message"] == words_said
    reply = await sign_up(chat, openid_of("a"), "明天给我送午饭", "5号楼301", *TAIL)
    assert words_said in reply, reply
    assert (await MealSlot.get(canteen_id=canteen.pk, date=THU, meal=Meal.LUNCH)).booked == 6


IMPORTERS = ("craftsman_directory.importer", "places.importer")


def test_every_importer_reads_within_the_bounds(tmp_path: Path) -> None:
    """Each file importer (craftsmen, places) in a child process capped at 1 GB: the far-cell
    sheet, an .xlsx that unpacks past the bound (60 MB of zeros in a few KB) and a sheet wider
    than the bound all stop with a message naming the bound, before anything is written."""
    far = far_cell_xlsx(tmp_path / "far.xlsx")
    bomb = tmp_path / "bomb.xlsx"
    bomb.write_bytes(far.read_bytes())
    with zipfile.ZipFile(bomb, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/media/padding.bin", b"\0" * (60 * 1024 * 1024))
    assert bomb.stat().st_size < 200_000
    wide = tmp_path / "wide.csv"
    wide.write_text("name,kind,category,phone,lat,lng," + ",".join("x" * 40) + "\n")
    script = textwrap.dedent(
        f"""
        import importlib, resource
        from pathlib import Path
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
        for name in {IMPORTERS!r}:
            module = importlib.import_module(name)
            for path in {[str(far), str(bomb), str(wide)]!r}:
                try:
                    module.read_rows(Path(path))
                    print(name, "read")
                except MemoryError:
                    print(name, "memory")
                except ValueError as exc:  # DirectoryError, PlaceError: both DomainErrors
                    print(name, "refused:", exc)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=PROJECT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert len(lines) == 3 * len(IMPORTERS), done.stdout
    for line, expected in zip(lines, ["最多读5000行", "解压后太大", "最多读30列"] * 2, strict=True):
        assert "refused:" in line and expected in line, line


async def test_a_stored_non_finite_place_stays_out_of_the_index(bot: Any) -> None:
    """The places index shares GEOADD (infra.geo_index.add_points): a stored non-finite point
    is left out instead of failing the rebuild for every place."""
    from models.places import Place
    from places import index as place_index

    here = {"kind": "pharmacy", "lat": HOME[0], "lng": HOME[1], "verified": True}
    good = await Place.create(name="好药房", **here)
    bad = await Place.create(name="坏药房", **here)
    conn = connections.get("default")
    value = "'NaN'::float8" if conn.capabilities.dialect == "postgres" else "9e999"
    await conn.execute_query(f"UPDATE places SET lng = {value} WHERE id = {bad.pk}")
    await place_index.rebuild(bot.services.redis)
    hits = await place_index.nearby(bot.services.redis, "pharmacy", *HOME, 1000)
    assert [h.card.id for h in hits] == [good.pk]


async def test_a_body_of_many_wrong_items_is_answered_briefly_and_fast(client: TestClient) -> None:
    """30,000 wrong list items in a 60 KB body took 1.6 s of the event loop to describe one by
    one; 8,000 unknown keys made a 200 KB answer. At most 50 field messages, as fast (within a
    generous ratio) as an ordinary invalid request."""
    api = Api(client, client.app[document_key])
    token = await api.login("r")

    async def timed(body: dict[str, Any]) -> tuple[float, Any]:
        data = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
        started = time.perf_counter()
        answer = await api.call("POST", "/api/craftsmen", token, data=data)
        return time.perf_counter() - started, answer

    normal = max([(await timed({**REGISTRATION, "categories": [1]}))[0] for _ in range(3)])
    for body in (
        {**REGISTRATION, "categories": [1] * 30000},
        {**REGISTRATION, **{f"k{i}": 1 for i in range(6000)}},
    ):
        # The best of three tries: on a loaded machine one try can wait for a core far longer
        # than the work takes; a body described item by item is slow every time.
        tries = [await timed(body) for _ in range(3)]
        for _, answer in tries:
            assert answer.status == 400 and answer.body["error"]["code"] == "invalid"
            assert 1 <= len(answer.body["error"]["fields"]) <= 50
        took = min(t for t, _ in tries)
        assert took < SLOWER_AT_MOST * normal, (took, normal)
