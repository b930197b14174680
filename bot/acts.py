"""Dialogue acts that are not intents: leaving, side questions, corrections, small talk.

Pure functions over the message text, cheap enough for every message (a few precompiled
regexes). Forms use them to tell an answer from a request to leave, a question asked in the
middle, or a correction of a field given earlier; the dialogue router uses them for small talk.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from community.numerals import listed_numbers

_EDGE = "。.!！?？~～ 　，,、…"
# Dialogue acts are short messages; longer ones are not searched for them.
SHORT = 80

# Leaving a form: the whole message says "stop" (not "没有"/"不用", which answer optional steps).
_LEAVE = re.compile(
    r"^(?:哎呀?|唉|那|那就|还是|我|我们|俺|俺们|先|要不)?"
    r"(?:算了吧?|算了(?:算了)?|不要了|不用了吧|不订了|不报了|不报名了|不弄了|先不弄了|不办了|不填了|"
    r"不登记了|不投诉了|不反映了|不评了|不找了|不想(?:订|报|弄|填|办|登记)了|先不(?:订|报|弄|填|办)?了|"
    r"回头再说|以后再说|改天再说|下次再说|过两天再说|等等再说|再说吧|取消|退出|不想弄了|不干了|没事了|"
    r"没事儿了|不麻烦了|我再想想|再想想|我考虑一下)"
    r"(?:吧|了|啊|呀|哈)?"
    r"(?:[，, ]*(?:不订了|不要了|不弄了|不报了|不填了|谢谢|回头再说|以后再说|我?再想想|"
    r"我?考虑(?:考虑|一下)|"
    # "算了 等俺问问她再说", "先不弄了 我跟老伴商量商量再定": put off until someone is asked
    r"(?:等|我|俺|让|跟|和|问|回头)[^\d]{0,14}?(?:再说|再定|再弄|再订|再报|再找你|再找您)(?:吧|啊|哈)?))?$"
)
# A character each of _LEAVE's words has (算了, 不…, 再说/再想想, 取消, 退出, 没事, 考虑): none is
# filler or a trailing particle, so `command_text` keeps it. A router's cheap test of `said`
# (bot.router.gated): without one, the text is no leaving. Kept in step with _LEAVE.
LEAVE_SAID = re.compile("[算不再取退没考]")


# Voice-style filler at the start ("嗯，那个，就是说 我的待办"): no command starts with it. The
# sounds go with or without a pause; words that also begin real phrases (这个月, 就是我, 啊呀)
# only before one. The pauses are possessive: a run of them is never split two ways.
_FILLER = re.compile(
    r"^(?:(?:嗯|呃|唔|那个|就是说|那啥)[\s，,、。.…~～]*+"
    r"|(?:额|哦|噢|啊|这个|就是|然后|我说|那什么)[\s，,、。.…~～]++)+"
)


def strip_filler(text: str) -> str:
    """`text` without the filler a voice message starts with; the text itself if nothing else."""
    rest = _FILLER.sub("", text, count=1)
    return rest if rest.strip(_EDGE) else text


def is_leave(text: str) -> bool:
    """The message asks to leave whatever is going on ("算了", "算了不订了", "回头再说")."""
    s = strip_filler(text.strip(_EDGE))
    return len(text) <= SHORT and bool(_LEAVE.match(s.strip(_EDGE).replace(" ", "")))


# ---- side questions: answered in the middle of a form, which then asks its step again --------

_SIDE: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "price",
        # "多钱一份", "啥价", "咋卖": northern ways of asking the price
        re.compile(
            r"多少钱|(?<![好很许])多钱|几块钱|几元|什么价|啥价|咋卖|价格|价钱|贵不贵|怎么收费|收费多少|"
            r"要钱吗|收钱吗"
        ),
    ),
    (
        "hours",
        re.compile(
            r"几点(?:开|关|送|到|营业|开饭|吃饭)|什么时候(?:开|送|到|开饭)|营业时间|开门时间"
        ),
    ),
    (
        "menu",
        re.compile(r"吃什么|吃啥|菜单|什么菜|有什么菜|啥菜|有(?:没有)?[^\s，,]{1,4}(?:吗|没有)$"),
    ),
    (
        "status",
        re.compile(
            r"订了几天|报了几天|订了哪几天|我订了|我报了|订的饭|饭.{0,4}(?:到哪|送哪|怎么还没)|"
            r"怎么还没(?:到|送)|送到哪了|送到了吗"
        ),
    ),
    (
        "cancel",
        re.compile(r"(?:不用|不要|别)(?:再)?送(?!到)|取消.{0,4}送餐|退订送餐"),
    ),
    ("search", re.compile(r"^(?:帮我|我想|我要)?(?:找|请)(?:个|一个|一位|位)?.{1,8}(?:师傅|的)?$")),
    ("help", re.compile(r"^(?:帮助|你能做什么|你会什么|怎么用|能干什么|有什么功能)$")),
)


def side_question(text: str) -> str | None:
    """What a question asked in passing is about: price, hours, menu, status, search, help.
    Only short messages are asked in passing (and a pasted page costs nothing here)."""
    s = text.strip(_EDGE)
    if len(s) > SHORT:
        return None
    for name, pattern in _SIDE:
        if pattern.search(s):
            return name
    return None


# A volunteer's delivery report ("3 送到", "1 2 没人"): it carries its own verb, so it is a
# report in any state, never an answer to a form's step.
# One character class ending on a digit, not a repeated group: nested quantifiers here
# backtracked exponentially on a run of digits (as delivery.router's did: issue 11).
_REPORT = re.compile(  # one character class for the numbers: no nested quantifier
    r"^\d[\d\s,，、和号]*(?:都|全)?"
    r"(?:送到|已送|送达|送好了|到了|没人|敲门没人|无人应答|家里没人|不在家|出去了|外出)"
)


def looks_like_report(text: str) -> bool:
    return bool(_REPORT.match(listed_numbers(text.strip())))


# ---- not understanding, or needing a moment, in the middle of a form ------------------------

_LOST = re.compile(
    r"^(?:啊|啥|什么|嗯|哈)[？?]+$|^(?:啥|什么|啥呀|什么呀)$"
    r"|^(?:我|俺)?(?:还是)?(?:听不懂|看不懂|没听懂|没看懂|听不明白|看不明白|没听明白|没看明白|不懂|"
    r"不明白|没懂|没明白|糊涂了?)(?:你的意思|你说的|是啥意思)?$"
    r"|^(?:这|这是|你说的?是?)?(?:什么|啥)意思$|^怎么(?:填|回|回答|说)$|^(?:要|该)?(?:填|回|说)(?:什么|啥)$"
)
_MOMENT = re.compile(
    r"^(?:你|您)?(?:等一下|等一等|等等|稍等|等会儿?|等我一下|等我找找|我找找|我看看|我问问|我想想)"
    r"(?:啊|哈|吧)?(?:我?(?:找找|看看|问问|想想)[^\d，,。]{0,6})?$"
)


def lost(text: str) -> bool:
    """The person does not understand the question ("什么意思", "听不懂", "啊？")."""
    s = text.strip(" 。.!！~～，,")
    return len(s) <= 16 and bool(_LOST.match(s.replace(" ", "")))


def needs_a_moment(text: str) -> bool:
    """ "等一下", "我找找": the answer comes later, nothing is wrong."""
    s = text.strip(_EDGE).replace(" ", "")
    return len(s) <= 12 and bool(_MOMENT.match(s))


# ---- corrections -------------------------------------------------------------------------

# Words that mark a correction of something said before; a correction must carry one.
CORRECTION = re.compile(
    r"写错了?|填错了?|说错了?|弄错了?|搞错了?|打错了?|记错了?|错了|不对|改成|改为|换成|改一下|改到|"
    r"改下|应该是|重新写|也要|还要|加上|再加|另外加|哦对了|对了|不是.{1,10}?是"
)
# "不是我妈 是我爸": the value said wrongly, and the right one.
NOT_BUT = re.compile(r"不是(.{1,10}?)[，,\s]*(?:而)?是(.+)$")
# Where the new value starts: after the last of these.
_VALUE_AFTER = re.compile(r"(?:应该是|改成|改为|换成|改到|写成|就是|是|为|成)")
MERGE = re.compile(r"也要|还要|加上|再加|另外加|也送")
_NOISE = re.compile(
    r"^(?:不对|错了|哦|噢|啊|哎|对了|哦对了|那个|嗯)+|写错了?|填错了?|说错了?|弄错了?|搞错了?|打错了?|"
    r"记错了?|改一下|改下|重新写"
)


def is_correction(text: str) -> bool:
    return len(text) <= SHORT and bool(CORRECTION.search(text))


def correction_value(text: str) -> str:
    """The new value in a correction: what follows 是/改成/换成 ..., else the text without the
    correction words ("电话写错了 13812345679" -> "13812345679")."""
    s = text.strip(_EDGE)
    last = None
    for m in _VALUE_AFTER.finditer(s):
        last = m
    if last is not None and s[last.end() :].strip(_EDGE):
        return s[last.end() :].strip(_EDGE)
    return _NOISE.sub("", s).strip(_EDGE)


# ---- small talk ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SmallTalk:
    kind: str  # thanks, bye, who, anyone, praise_bot, sorry, ok
    reply: str


_SMALL = (
    (
        "thanks",
        re.compile(
            # an acknowledgement first ("中" and "得嘞" in the north), a form of address after
            # ("谢谢你啊闺女", "多谢了小伙子")
            r"^(?:好的?|好嘞|嗯|哦|行|中|得嘞|知道了|晓得了|明白了)?[，, ]*"
            r"(?:谢谢|多谢|谢了|谢啦|感谢|麻烦你了|辛苦了|辛苦)"
            r"(?:你|您|啦|了|哈)*(?:啊|呀)?"
            r"(?:[，,]?(?:闺女|姑娘|小姑娘|小伙子|孩子|娃|同志|老师|师傅|大姐|大哥))?"
            r"(?:[，,]?(?:再见|拜拜|回见))?$"
        ),
        "不客气！有事随时找我。",
    ),
    (
        "bye",
        re.compile(
            r"^(?:好的?|嗯|那)?[，, ]*(?:再见|拜拜|byebye|bye|回见|下次聊|先这样|晚安)"
            r"(?:了|啦|吧)?$"
        ),
        "再见，您慢走！有事随时说。",
    ),
    (
        "who",
        re.compile(
            r"^(?:你是谁|你是哪位|你是什么|你叫什么|你是机器人吗|你是人吗|是机器人吗|是真人吗)$"
        ),
        "我是社区的小助手“邻里”，是个机器人。能帮您找师傅、看食堂菜单、报名送餐、联系网格员。",
    ),
    (
        "anyone",
        # possessive 喂++: a run of 喂 split two ways was quadratic (issue 11's regex audit)
        re.compile(r"^(?:喂++|哈喽|hello)?[，,]?(?:有人吗|有人在吗|在不在|人呢|喂++|有没有人|没人吗)$"),
        "在的，您请说。找师傅、看菜单、报名送餐、找网格员，都可以直接告诉我。",
    ),
    (
        "praise_bot",
        re.compile(r"^(?:你真好|真好用|太好了|真棒|你真棒|挺好的|很好用|不错)$"),
        "谢谢夸奖！有事随时找我。",
    ),
)


# A character each of _SMALL's patterns needs beyond its optional start (谢/麻烦/辛苦; 再见, 拜拜,
# bye, 回见, 下次聊, 先这样, 晚安; 谁, 哪位, 什么, 人; 人, 在不在, 喂; 好, 棒, 不错): none is filler
# or a trailing particle, so `command_text` keeps it (`small_talk` lowers "BYE": both cases). A
# router's cheap test of `said` (bot.router.gated). Kept in step with _SMALL.
SMALL_TALK_SAID = re.compile("[谢麻辛见拜yY聊样安谁位么人在喂好棒错]")


def small_talk(text: str) -> SmallTalk | None:
    if len(text) > SHORT:
        return None
    s = text.strip(_EDGE).replace(" ", "").lower()
    for kind, pattern, reply in _SMALL:
        if pattern.match(s):
            return SmallTalk(kind, reply)
    return None
