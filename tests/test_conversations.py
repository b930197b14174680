"""Conversations residents really have, as readable transcripts (tests/conversations/*.txt),
each sent through the /wechat callback exactly as WeChat sends messages.

Transcript format, one conversation per `===` block:

    === a title saying what the conversation shows
    @ demo-volunteer        who speaks from here on (default: a fresh resident per conversation)
    > 我妈摔倒了起不来        what they send (`> /loc LAT LNG label` sends a location)
    + 120                   the reply must contain this
    - 师傅                  ... and must not contain this
    ^ demo-grid 紧急        a push to this user, containing this, is queued (outbox)
    ! demo-grid 紧急        ... and none like it

Every conversation starts from the demo community (`seed-demo`: craftsmen around People's
Square, the 幸福里 canteen, the places of the 15-minute circle, demo-staff, demo-volunteer and
grid worker demo-grid for 1-5号楼), on Wednesday 2026-11-25 at 08:00 Shanghai time.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import xmltodict

from community.clock import SHANGHAI
from handlers.keys import bot_key, redis_key
from models.push import OutboxMessage
from tests.conftest import signed_query, url_with, wechat_xml

HERE = Path(__file__).with_name("conversations")
NOW = dt.datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI)
_ids = itertools.count(900_000)


@dataclass
class Turn:
    who: str
    text: str
    must: list[str] = field(default_factory=list)
    must_not: list[str] = field(default_factory=list)
    pushed: list[tuple[str, str]] = field(default_factory=list)
    not_pushed: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class Conversation:
    title: str
    source: str
    turns: list[Turn]


def load(path: Path) -> list[Conversation]:
    out: list[Conversation] = []
    conv: Conversation | None = None
    who = ""
    for n, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        tag, _, rest = line.partition(" ")
        rest = rest.strip()
        if tag == "===":
            who = f"o-talk-{len(out)}-{path.stem}"
            conv = Conversation(rest, f"{path.name}:{n}", [])
            out.append(conv)
            continue
        assert conv is not None, f"{path.name}:{n}: a line before the first ==="
        if tag == "@":
            who = rest
        elif tag == ">":
            conv.turns.append(Turn(who, rest))
        elif tag in "+-^!" and len(tag) == 1:
            assert conv.turns, f"{path.name}:{n}: an expectation before any message"
            turn = conv.turns[-1]
            if tag == "+":
                turn.must.append(rest)
            elif tag == "-":
                turn.must_not.append(rest)
            else:
                target, _, words = rest.partition(" ")
                (turn.pushed if tag == "^" else turn.not_pushed).append((target, words.strip()))
        else:
            raise AssertionError(f"{path.name}:{n}: unknown line {line!r}")
    return out


CONVERSATIONS = [c for path in sorted(HERE.glob("*.txt")) for c in load(path)]


def test_there_are_enough_conversations() -> None:
    assert len(CONVERSATIONS) >= 60
    assert all(c.turns for c in CONVERSATIONS)


async def _seed(client: Any) -> None:
    from canteen.demo import seed_demo as canteen_demo
    from craftsman_directory import index
    from craftsman_directory.demo import seed_demo as directory_demo
    from places import index as place_index
    from places.demo import seed_demo as places_demo

    await directory_demo()
    await canteen_demo()
    await places_demo()
    await index.rebuild(client.app[redis_key])
    await place_index.rebuild(client.app[redis_key])


def _message(who: str, text: str) -> str:
    if text.startswith("/loc "):
        parts = text.split()
        return wechat_xml(
            who,
            MsgType="location",
            Location_X=parts[1],
            Location_Y=parts[2],
            Scale=15,
            Label=" ".join(parts[3:]),
            MsgId=next(_ids),
        )
    return wechat_xml(who, MsgType="text", Content=text, MsgId=next(_ids))


async def _pushes(target: str, words: str) -> int:
    rows = await OutboxMessage.filter(target=target)
    return sum(1 for r in rows if words in str(r.payload))


@pytest.mark.parametrize("conv", CONVERSATIONS, ids=[c.title for c in CONVERSATIONS])
async def test_conversation(client: Any, conv: Conversation) -> None:
    await _seed(client)
    client.app[bot_key].services.clock = lambda: NOW
    transcript: list[str] = []
    for turn in conv.turns:
        resp = await client.post(url_with(signed_query()), data=_message(turn.who, turn.text))
        assert resp.status == 200, await resp.text()
        body = await resp.text()
        reply = xmltodict.parse(body)["xml"].get("Content", "") if body != "success" else ""
        transcript += [f"{turn.who}> {turn.text}", f"邻里> {reply}"]
        where = f"{conv.source} ({conv.title})\n" + "\n".join(transcript)
        for words in turn.must:
            assert _contains(reply, words), f"reply lacks {words!r}\n{where}"
        for words in turn.must_not:
            assert not _contains(reply, words), f"reply has {words!r}\n{where}"
        for target, words in turn.pushed:
            assert await _pushes(target, words), f"no push to {target} with {words!r}\n{where}"
        for target, words in turn.not_pushed:
            assert not await _pushes(target, words), f"a push to {target} with {words!r}\n{where}"


def _contains(reply: str, words: str) -> bool:
    """`words` is plain text, or /a regex/ when written between slashes."""
    if len(words) > 2 and words.startswith("/") and words.endswith("/"):
        return re.search(words[1:-1], reply) is not None
    return words in reply


async def test_the_community_s_own_emergency_numbers_are_said(
    aiohttp_client: Any, make_settings: Any
) -> None:
    """GAS_COMPANY_PHONE and LIFT_RESCUE_PHONE are per-community settings."""
    from main import create_app
    from tests.conftest import reset_state

    client = await aiohttp_client(
        create_app(make_settings(gas_company_phone="021-96777", lift_rescue_phone="021-12345"))
    )
    await reset_state(client)

    async def say(text: str) -> str:
        body = _message("o-numbers", text)
        resp = await client.post(url_with(signed_query()), data=body)
        return xmltodict.parse(await resp.text())["xml"]["Content"]

    assert "021-96777" in await say("厨房里一股煤气味")
    await say("算了")
    lift = await say("我被困在电梯里了")
    assert "021-12345" in lift and "96333" not in lift


async def test_an_emergency_alert_is_claimed_ahead_of_a_broadcast(driven_client: Any) -> None:
    """Routine pushes queued first (a menu broadcast) do not hold back an emergency's alert."""
    from models.push import PushChannel, PushUrgency
    from push.outbox import enqueue_text
    from server.lifecycle import push_worker_key

    worker = driven_client.app[push_worker_key]
    for i in range(worker.config.batch_size + 20):
        await enqueue_text(PushChannel.WECHAT_CS, f"o-sub-{i}", "明天午餐：红烧肉")
    await enqueue_text(
        PushChannel.WECHAT_CS, "demo-grid", "【紧急】3号楼有人摔倒", urgency=PushUrgency.URGENT
    )
    first = await worker.claim()  # one batch: fewer than were queued
    assert len(first) == worker.config.batch_size
    assert "demo-grid" in {m.target for m in first}
