"""Is someone in danger right now? A rule-based emergency detector.

`detect(text)` returns an `Emergency` (with its `kind`) or None. It runs on every message before
any form or feature, so it is pure, cached and cheap (a few precompiled regexes), and it leans
towards precision on the look-alikes residents really write: 火锅店在哪, 换个煤气罐, 摔坏了的手机,
热水器打不着火, 差点着火 (already out), 电梯坏了 (nobody inside), 防摔扶手.

`unseen_neighbour(text)` is the softer case: a neighbour not seen for days with no sign of
danger is an urgent grid report, not an emergency (with signs of danger, `detect` says
`Kind.NEIGHBOUR`).

The API (`detect`, `Emergency`, `Kind`, `unseen_neighbour`) is used by the NLU for the
`emergency` intent: keep it stable.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

from bot.nlu.text import to_simplified


class Kind(StrEnum):
    FALL = "fall"  # fell and cannot get up, hurt
    FIRE = "fire"  # fire or smoke
    GAS = "gas"  # a gas smell or leak, gas poisoning
    LIFT = "lift"  # someone trapped in a lift
    UNCONSCIOUS = "unconscious"  # fainted, unresponsive, not breathing
    CHEST_PAIN = "chest_pain"  # chest pain, a heart attack
    MEDICAL = "medical"  # stroke signs, heavy bleeding, choking, a seizure
    ELECTRIC_WATER = "electric_water"  # water on sockets or the meter box, an electric shock
    NEIGHBOUR = "neighbour"  # not seen for days, and signs of danger (a smell, a fall heard)
    HELP = "help"  # "救命", "快叫救护车": danger without saying which


@dataclass(frozen=True, slots=True)
class Emergency:
    kind: Kind
    cue: str  # the words that gave it away, for logs and the grid worker's alert
    building: str = ""  # "3号楼" when the message names one


# ---- patterns --------------------------------------------------------------------------------

# A person falling, whatever else broke ("摔了一跤 手机摔坏了" is still a fall).
_LYING = r"倒在(?:了)?(?:地|家里|家中|屋里|厕所|卫生间|浴室|床边|门口|楼道|楼梯)"
_FALL_STRONG = re.compile(r"摔倒|跌倒|摔跤|摔了一?跤|跌了一?跤|滑倒|绊倒|栽倒|摔在地|" + _LYING)
_FALL = re.compile(
    r"摔倒|跌倒|摔跤|摔了一?跤|跌了一?跤|滑倒|绊倒|栽倒|摔在地|" + _LYING + "|"
    r"(?:楼梯|床上|凳子|椅子|梯子|阳台|楼上|树上)(?:上)?(?:摔|跌)下来|从.{1,6}(?:摔|跌)下来|"
    r"(?:摔|跌)(?:了|得)?.{0,6}(?:很重|骨折|流血|出血|头破|起不来|动不了)|"
    r"(?:摔|跌|倒|地上|地下|床边|床下|厕所|卫生间|浴室|马桶).{0,6}"
    r"(?:起不来|爬不起来|站不起来|扶不起来|拉不起来)"
)
_PREVENT = re.compile(r"防摔|防跌|防滑")
_FALL_NOT = re.compile(r"防摔|防跌|防滑|摔坏|摔碎|摔裂|摔烂|摔破|摔变形|摔不坏|摔的屏|摔了屏")
# A pet that fell is not a 120 case (unless a person is named too).
_ANIMAL = re.compile(r"猫|狗|宠物|小鸟|鹦鹉|兔子|仓鼠")
_A_PERSON = re.compile(r"我|人|妈|爸|老|爷|奶|婆|公|孩|宝|他|她|阿姨|叔|伯|姐|哥|弟|妹")

_PEOPLE = (
    r"(?:妈|爸|母亲|父亲|老人|老太太|老头|老爷子|奶奶|爷爷|外婆|外公|姥姥|姥爷|老伴|爱人|"
    r"孩子|小孩|宝宝|邻居|人|阿姨|大爷|大妈|婆婆|公公)"
)
_UNCONSCIOUS = re.compile(
    r"晕倒|昏倒|昏过去|晕过去|昏迷|不省人事|叫不醒|喊不醒|[叫喊]不答应|没(?:有)?意识|失去意识|"
    + _PEOPLE
    + r"(?:突然|一下子)?(?:叫|喊)?(?:也|都)?没(?:有)?反应|(?:叫|喊|拍|推)(?:他|她|人)?"
    r"(?:了)?(?:半天|好几声|好久)?(?:也|都)?没(?:有)?反应|"
    r"没(?:有)?呼吸|不喘气|人没气|断气|没了呼吸|呼吸(?:不上来|困难|停了)|喘不(?:上|过|动)(?:来)?气|"
    r"上不来气|气(?:都)?(?:喘|上)不来|没(?:有)?心跳|心跳停|休克|抽过去|口吐白沫|嘴唇发紫"
)

_CHEST = re.compile(
    r"胸口(?:疼|痛|闷|压|憋|堵)|胸(?:痛|闷)|心口(?:疼|痛|闷|憋|堵)|心脏(?:疼|痛|病犯|病发|不舒服)|心梗|心肌梗|"
    r"心绞痛|心脏骤停"
)
_MEDICAL = re.compile(
    r"中风|脑梗|脑溢血|脑出血|嘴歪|半边(?:身子)?(?:动不了|没知觉|麻)|口齿不清|突然说不出话|"
    r"大出血|血止不住|流了很多血|流了好多血|血流不止|抽搐|吃错药|喝了农药|吞了.{0,4}药|割腕|"
    r"想不开|要跳楼|想跳楼|跳楼了|(?:食物|酒精)?中毒"
)

# 着火 is also lighting a stove ("打不着火", "点不着火", "打着火"): not after 打, 点 or 不.
_FIRE = re.compile(
    r"(?<![打点不])着火|(?<![打点不])着了火|起火|失火|火灾|火警|(?<!发)烧起来|燃起来|冒烟|"
    r"冒黑烟|冒火|(?<![没不])有火(?![锅车腿柴机气星吗])|浓烟|(?<![油香抽吸])烟(?:很大|好大|太大)|好大的?烟|全是烟|都是烟|"
    r"好多烟|一屋子烟|满屋子?(?:的)?烟|火苗(?:窜|蹿)|窜火|烧着了|电线.{0,4}烧|(?<!防)爆炸(?!头)"
)

_GAS_WORD = r"(?:煤气|燃气|天然气|液化气|沼气)"
_GAS = re.compile(
    _GAS_WORD + r".{0,6}(?:味|漏(?!水)|泄(?!水)|熏|中毒|臭)|"
    r"(?:闻到|有股|一股|满屋子?的?|都是)" + _GAS_WORD + r"|臭鸡蛋味|一氧化碳"
)

_LIFT_WORD = r"(?:电梯|轿厢|升降梯)"
_LIFT = re.compile(
    _LIFT_WORD + r"[^。！？!?]{0,16}"
    # "没困人", "没有困人": nobody inside (a broken lift is a grid report)
    r"(?:(?<![没不无未])(?<!没有)困(?!难|扰|惑)|关在里|关里面|关着|出不来|人在里|卡住了人|卡着人|卡人|夹住|夹人)|"
    r"(?:困|关)(?:在)?(?:了)?" + _LIFT_WORD + r"|电梯困人|电梯.{0,4}(?:掉下|坠|往下掉)"
)

_POWER = r"(?:插座|插排|插线板|电线|电闸|电箱|配电箱|电表箱|电表|电路|配电)"
_ELECTRIC_WATER = re.compile(
    _POWER + r".{0,6}(?:进水|进了水|泡水|泡了水|泡在水|淹了|被淹|湿了|在滴水|漏水|冒水|全是水)|"
    r"(?:漏水|渗水|淹水|发大水|水漫|水淹|水灌|水流|水滴|水漏|水)(?:漏|流|渗|滴|灌|漫|淹|泡)?"
    r"(?:到|进|在|上|着)(?:了)?(?:我家)?(?:的)?" + _POWER + "|"
    r"(?<!防)触电|被电(?:到|了|倒|击)|电到人|漏电.{0,6}(?:人|电到|麻)"
)

_NEIGHBOUR_WHO = (
    r"(?:邻居|隔壁|对门|对面|楼上|楼下|独居|老人|老太太|老大爷|老爷子|老太|老头|阿姨|大爷|"
    r"奶奶|爷爷|大妈|他家|她家|那家)"
)
_UNSEEN = re.compile(
    _NEIGHBOUR_WHO + r".{0,12}?(?:好几天|几天|多天|多日|两天|三天|四天|五天|一周|一个星期|"
    r"好久|很久|半个月|十来天)(?:都|也|了)?(?:没|不见|没有)(?:见|看|出|露面|动静|人影|开门|"
    r"下楼|出门|出来|消息|回|接|联系|人(?!管|修|理|问|收|扫))|"
    + _NEIGHBOUR_WHO
    + r".{0,12}?(?:联系不上|找不到人|电话(?:一直)?没人接)"
)
# Signs that someone not seen for days is in danger: one strong sign, or two weak ones.
_DANGER_STRONG = re.compile(
    r"臭味|异味|怪味|味道不对|有味|发臭|很臭|好臭|听到.{0,6}(?:摔|倒|响|呻吟|哼|喊|叫|哭|求救)|"
    r"呼救|喊救命|有人喊|在喊人"
)
_DANGER_WEAK = re.compile(
    r"(?:敲门|叫门|喊门|按门铃|打电话).{0,6}(?:没人应|没人开|没人答应|不开门|没反应|没人接)|"
    r"报纸.{0,4}堆|(?:奶|快递|外卖).{0,4}没(?:拿|取)|灯一直亮|电视一直(?:响|开)"
)

_HELP = re.compile(
    r"救命|快来人|快来救|救人啊|出人命|快叫救护车|叫(?:个)?救护车|打(?:个)?120|快打120"
)

# The danger has passed, is hypothetical, or is what to prevent: not an emergency.
_AVERTED = re.compile(
    r"差点|差一点|险些|幸好没|还好没|幸亏没|"
    r"已经(?:灭|扑灭|没事|好了|处理|救出|出来|送医|送到医院|到医院|叫了救护车|打了120)|"
    r"(?:灭了|扑灭了|灭掉了)|没事了|不冒烟了|"
    r"万一|如果|要是|假如|怎么预防|预防|防止|防范|演练|知识|培训|宣传|讲座|容易|怕|担心会|"
    r"隐患|会不会|可能会|(?<!不)小心|"
    r"上次|上回|去年|上个月|前几年|以前|小时候"
)
# ... unless it is still going on ("差点灭了 现在又烧起来了").
_ONGOING = re.compile(r"又(?:烧|着|冒|摔|晕|倒)|还在(?:烧|冒|漏)|越来越|现在还|一直在")

# Smoke from food burnt on the stove, already dealt with ("锅烧糊了 冒了好多烟 现在开窗了"): no
# fire. Flames or fire words ("着火", "火苗") keep it an emergency.
_COOKING_SMOKE = re.compile(r"烧糊|糊了|糊锅|烧干了|煮干了|炖干了|炒菜|油烟")
_SMOKE_HANDLED = re.compile(
    r"开(?:了)?窗|关(?:了)?火|火关了|通(?:通)?风|(?:烟|味)(?:已经|都)?散|抽油烟机|排气扇"
)
_FLAME = re.compile(r"着火|着了火|起火|失火|火苗|冒火|窜火|烧着了|烧起来|燃起来|有火")

_SPACES = re.compile(r"\s+")
_BUILDING = re.compile(r"(\d{1,3}|[一二两三四五六七八九十]{1,3})\s*(?:号楼|幢|栋)")

_ORDER: tuple[tuple[Kind, re.Pattern[str]], ...] = (
    (Kind.FIRE, _FIRE),
    (Kind.GAS, _GAS),
    (Kind.LIFT, _LIFT),
    (Kind.UNCONSCIOUS, _UNCONSCIOUS),
    (Kind.CHEST_PAIN, _CHEST),
    (Kind.ELECTRIC_WATER, _ELECTRIC_WATER),
    (Kind.MEDICAL, _MEDICAL),
)


def _normalise(text: str) -> str:
    s = unicodedata.normalize("NFKC", text)
    # 著 is a simplified character too, so the table keeps it; in 著火/困著 it means 着.
    s = to_simplified(s).lower().strip().replace("著", "着")
    return _SPACES.sub("，", s)


def building_of(text: str) -> str:
    """"3号楼" / "三栋" in the message, as "3号楼"; "" when none is named."""
    from bot.nlu.slots import cn_number

    m = _BUILDING.search(_normalise(text))
    if m is None:
        return ""
    n = cn_number(m.group(1))
    return f"{n}号楼" if n else ""


@lru_cache(maxsize=4096)
def detect(text: str) -> Emergency | None:
    """The emergency this message reports, or None (look-alikes, a danger that has passed)."""
    if not text or len(text) > 300:
        return None
    s = _normalise(text)
    hit = _match(s)
    if hit is None:
        return None
    kind, cue = hit
    if _AVERTED.search(s) and not _ONGOING.search(s):
        return None
    if (
        kind is Kind.FIRE
        and _COOKING_SMOKE.search(s)
        and _SMOKE_HANDLED.search(s)
        and not _FLAME.search(s)
        and not _ONGOING.search(s)
    ):
        return None
    return Emergency(kind, cue, building_of(s))


def _match(s: str) -> tuple[Kind, str] | None:
    if _UNSEEN.search(s):
        strong = _DANGER_STRONG.search(s)
        if strong:
            return Kind.NEIGHBOUR, strong.group(0)
        weak = _DANGER_WEAK.findall(s)
        if len(weak) >= 2:
            return Kind.NEIGHBOUR, weak[0]
        if not _FALL.search(s):
            return None  # not seen for days, nothing worse: an urgent grid report
    for kind, pattern in _ORDER:
        m = pattern.search(s)
        if m is None:
            continue
        return kind, m.group(0)
    fall = _FALL.search(s)
    if fall and _ANIMAL.search(s) and not _A_PERSON.search(_ANIMAL.sub("", s).replace("我家", "")):
        fall = None
    if fall and not _PREVENT.search(s):
        strong = _FALL_STRONG.search(s)
        if strong:
            return Kind.FALL, strong.group(0)
        if not _FALL_NOT.search(s):
            return Kind.FALL, fall.group(0)
    m = _HELP.search(s)
    if m:
        return Kind.HELP, m.group(0)
    return None


@lru_cache(maxsize=1024)
def unseen_neighbour(text: str) -> bool:
    """A neighbour not seen for days (an urgent grid report); with signs of danger `detect`
    reports it as an emergency instead."""
    s = _normalise(text)
    return bool(_UNSEEN.search(s)) and detect(text) is None
