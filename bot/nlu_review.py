"""Learn from staff, the collecting half: messages answered "not understood" or with a
clarifying question are kept, scrubbed, for staff to label.

No openid is kept; phone numbers, names and building / room numbers are replaced by
placeholders before anything is stored (`scrub`). The queue is a capped Redis list
(`keys.NLU_REVIEW`, newest first). `python main.py nlu-review` writes it out as JSONL with an
empty `intent` for staff to fill in; `python main.py train-nlu --extra FILE` learns from the
labelled lines and adopts the new model only if cross-validated accuracy does not drop.
"""

from __future__ import annotations

import json
import re
from typing import Any

from redis.asyncio import Redis

from bot.nlu.labels import CATEGORIES, INTENTS, PLACES
from bot.nlu.slots import _ADDRESS_RE
from community.errors import DomainError
from infra import keys
from infra.redis import awaitable
from models.nlu import NluExample

REVIEW_CAP = 2000

_PHONE = re.compile(r"(?:\+?86)?1[3-9]\d{9}|0\d{2,3}-?\d{7,8}|\d{5,}")
_SURNAMES = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁"
    "任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武"
    "戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮"
    "柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古"
    "吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫"
    "寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝"
)
# "我叫王秀兰" / "姓张", "张师傅" / "王阿姨", "老刘": a name when the character is a surname
# (checked in Python, so the patterns stay small: "我是修鞋的" and "小区" keep their words)
_NAMES = (
    re.compile(r"(?:我叫|我是|名叫|叫做|我姓|姓)([\u4e00-\u9fff])[\u4e00-\u9fff]{0,2}"),
    re.compile(r"([\u4e00-\u9fff])(?:师傅|阿姨|大爷|大妈|奶奶|爷爷|老师|大哥|大姐|姐|哥|总|工)"),
    re.compile(r"(?:老|小)([\u4e00-\u9fff])"),
)


def _name(m: re.Match[str]) -> str:
    return "[姓名]" if m.group(1) in _SURNAMES else m.group(0)


def scrub(text: str) -> str:
    """The message without phone numbers, names or building / room numbers."""
    text = _ADDRESS_RE.sub("[地址]", text)
    text = _PHONE.sub("[电话]", text)
    for pattern in _NAMES:
        text = pattern.sub(_name, text)
    return text


async def remember(redis: Redis, text: str, parsed: Any, asked: bool) -> None:
    """Keep one scrubbed message for review (no user id), newest first, capped."""
    item = {
        "text": scrub(text[:200]),
        "parsed": parsed.intent,
        "alternatives": [a["intent"] for a in parsed.alternatives[:2]],
        "asked": asked,
        "model": parsed.model,
    }
    async with redis.pipeline(transaction=False) as pipe:
        pipe.lpush(keys.NLU_REVIEW, json.dumps(item, ensure_ascii=False))
        pipe.ltrim(keys.NLU_REVIEW, 0, REVIEW_CAP - 1)
        await pipe.execute()


async def queue(redis: Redis, limit: int = 100) -> list[tuple[str, dict[str, Any]]]:
    """(stored line, item) newest first; the stored line identifies the item to `take`."""
    raws = await awaitable(redis.lrange(keys.NLU_REVIEW, 0, limit - 1))
    out = []
    for raw in raws:
        line = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        out.append((line, json.loads(line)))
    return out


async def take(redis: Redis, line: str) -> bool:
    """Remove one item from the queue (labelled or dismissed); False if it was gone."""
    return bool(await awaitable(redis.lrem(keys.NLU_REVIEW, 1, line)))


async def pending(redis: Redis) -> list[dict[str, Any]]:
    """The queue, newest first, each line ready to be labelled (`intent` left empty)."""
    out = []
    for raw in await awaitable(redis.lrange(keys.NLU_REVIEW, 0, -1)):
        item = json.loads(raw)
        out.append(
            {"text": item["text"], "intent": "", **{k: v for k, v in item.items() if k != "text"}}
        )
    return out


# ---- the labelled examples (the console's review page) ---------------------------------------


async def label(
    redis: Redis,
    line: str,
    intent: str,
    category: str | None,
    place: str | None,
    labelled_by: str,
) -> str:
    """Label one queued message (intent, and the trade or place kind where it has one) and keep
    it as an example; the message's text. DomainError says why nothing was saved."""
    if intent not in INTENTS:
        raise DomainError("没有保存：请选择意图。", field="intent")
    if intent != "find_craftsman":
        category = None
    elif category is not None and category not in CATEGORIES:
        raise DomainError("没有保存：没有这个行当。", field="category")
    if intent != "find_place":
        place = None
    elif place is not None and place not in PLACES:
        raise DomainError("没有保存：没有这种服务点。", field="place")
    try:
        text = json.loads(line)["text"]
    except (ValueError, KeyError, TypeError):
        raise DomainError("没有保存：这条消息不在待标注里了。", code="not_found") from None
    if not await take(redis, line):
        raise DomainError("没有保存：这条消息已经有人处理了。", code="conflict")
    await NluExample.create(
        text=str(text)[:200],
        intent=intent,
        category=category,
        place=place,
        labelled_by=labelled_by,
    )
    return str(text)


async def recent_examples(limit: int = 50) -> list[NluExample]:
    return await NluExample.all().order_by("-id").limit(limit)


async def examples_jsonl() -> str:
    """Every labelled example as JSONL (train-nlu --extra takes the same format)."""
    lines = [
        json.dumps(
            {
                k: v
                for k, v in {
                    "text": e.text,
                    "intent": e.intent,
                    "category": e.category,
                    "place": e.place,
                }.items()
                if v is not None
            },
            ensure_ascii=False,
        )
        for e in await NluExample.all().order_by("id")
    ]
    return "".join(line + "\n" for line in lines)
