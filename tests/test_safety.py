"""The emergency detector (bot/safety.py): real emergencies and the look-alikes residents write."""

from __future__ import annotations

import pytest

from bot.safety import Kind, building_of, detect, unseen_neighbour

EMERGENCIES = [
    ("我妈摔倒了起不来", Kind.FALL),
    ("独居老人摔倒了需要帮忙", Kind.FALL),
    ("我爸摔了一跤 头在流血", Kind.FALL),
    ("老人在卫生间起不来了", Kind.FALL),
    ("奶奶从床上摔下来了", Kind.FALL),
    ("着火了", Kind.FIRE),
    ("楼道里冒烟了", Kind.FIRE),
    ("快来 厨房锅烧起来了", Kind.FIRE),
    ("隔壁起火了 好大的烟", Kind.FIRE),
    ("電動車著火了", Kind.FIRE),  # traditional characters
    ("家里一股煤气味", Kind.GAS),
    ("闻到燃气味 好像漏气了", Kind.GAS),
    ("天然气泄漏了怎么办", Kind.GAS),
    ("3号楼电梯坏了 把老人困在里面了", Kind.LIFT),
    ("我被困在电梯里了", Kind.LIFT),
    ("电梯卡在两层中间 人在里面出不来", Kind.LIFT),
    ("老伴叫不醒了", Kind.UNCONSCIOUS),
    ("5号楼有人晕倒了", Kind.UNCONSCIOUS),
    ("我妈喘不上气", Kind.UNCONSCIOUS),
    ("老人没有呼吸了", Kind.UNCONSCIOUS),
    ("叫了半天没反应", Kind.UNCONSCIOUS),
    ("我爸突然胸口疼", Kind.CHEST_PAIN),
    ("胸闷得厉害 心脏不舒服", Kind.CHEST_PAIN),
    ("我妈嘴歪了 说话口齿不清", Kind.MEDICAL),
    ("楼上漏水漏到我家电表箱了", Kind.ELECTRIC_WATER),
    ("插座进水了 还在冒水", Kind.ELECTRIC_WATER),
    ("有人触电了", Kind.ELECTRIC_WATER),
    ("隔壁老太太好几天没见了 门口有股臭味", Kind.NEIGHBOUR),
    ("对门大爷三天没出门了 刚才听到屋里有人喊", Kind.NEIGHBOUR),
    ("楼下独居老人好几天没动静 敲门没人应 报纸堆在门口", Kind.NEIGHBOUR),
    ("救命", Kind.HELP),
    ("老人不小心摔了一跤 手机也摔坏了", Kind.FALL),  # the person fell, whatever else broke
    ("邻居家好几天没人了 门口的报纸都堆着 敲门也没人应", Kind.NEIGHBOUR),
    ("有人困电梯了", Kind.LIFT),
    ("电梯里关着个老人", Kind.LIFT),
    ("独居老人倒在家里没人知道", Kind.FALL),
    ("卫生间进水泡到插座了", Kind.ELECTRIC_WATER),
    ("插座冒火花了", Kind.FIRE),
    ("老伴突然说不出话了", Kind.MEDICAL),
    ("快来救人", Kind.HELP),
]

LOOK_ALIKES = [
    "火锅店在哪",
    "换个煤气罐",
    "煤气罐没气了 哪里能换",
    "交燃气费在哪交",
    "摔坏了的手机",
    "手机摔碎了屏幕 找人修",
    "手机摔了 屏幕裂了",
    "热水器打不着火",
    "燃气灶点不着火",
    "燃气灶火苗小",
    "燃气热水器漏水",
    "差点着火 已经灭了",
    "刚才锅差点烧起来 现在没事了",
    "电梯坏了",
    "3号楼电梯坏了 老人上楼困难",
    "电梯又坏了 物业也不管",
    "我早上起不来 能晚点送吗",
    "手机没反应了",
    "电动车没气了",
    "空调漏水",
    "水龙头开关漏水",
    "邻居家油烟很大",
    "楼道有人抽烟",
    "油烟机不吸烟",
    "想剪个爆炸头",
    "装个防摔扶手",
    "老人防跌倒怎么弄",
    "插座坏了 找个电工",
    "防触电插座哪里买",
    "万一着火了怎么办",
    "消防演练几点开始",
    "上次我妈摔倒了 想装个扶手",
    "楼上漏水好几天没人管",
    "我订了几天的饭",
    "明天3号送饭吗",
    "今天吃什么",
    "找裁缝",
    "发烧了去哪看",
    "跳楼价大甩卖",
    "我家猫从楼上摔下来了",
    "邻居好几天没人收快递",
    "楼道里堆的东西容易着火 没人管",  # a risk to report, not a fire
    "楼道堆了好多纸箱子怕着火",
    "有火锅吗",
]


@pytest.mark.parametrize(("text", "kind"), EMERGENCIES)
def test_emergencies_are_detected_with_their_kind(text: str, kind: Kind) -> None:
    found = detect(text)
    assert found is not None, text
    assert found.kind is kind
    assert found.cue


@pytest.mark.parametrize("text", LOOK_ALIKES)
def test_look_alikes_are_not_emergencies(text: str) -> None:
    assert detect(text) is None


def test_a_neighbour_not_seen_for_days_is_urgent_but_not_an_emergency() -> None:
    text = "隔壁老太太好几天没见了"
    assert detect(text) is None
    assert unseen_neighbour(text)
    # With a sign of danger it becomes an emergency, and no longer the softer case.
    worse = "隔壁老太太好几天没见了 敲门也没人应 屋里有股味道不对"
    assert detect(worse) is not None and detect(worse).kind is Kind.NEIGHBOUR  # type: ignore[union-attr]
    assert not unseen_neighbour(worse)
    assert not unseen_neighbour("楼上漏水好几天没人管")


def test_the_building_is_read_when_named() -> None:
    found = detect("三号楼电梯里困了人")
    assert found is not None and found.building == "3号楼"
    assert building_of("12栋有人晕倒了") == "12号楼"
    assert building_of("明天3号送饭") == ""


def test_a_danger_still_going_on_is_not_cancelled_by_an_earlier_near_miss() -> None:
    assert detect("刚才差点灭了 现在又烧起来了") is not None
