"""A small demo directory around People's Square, Shanghai (GCJ-02), for `seed-demo`."""

from __future__ import annotations

from models.directory import Craftsman, Source, Status

CENTRE = (31.2304, 121.4737)

# (name, categories, description, phone, compound, d_lat, d_lng, hours, home visits)
DEMO: list[tuple[str, list[str], str, str, str, float, float, str, bool]] = [
    (
        "王师傅",
        ["tailor"],
        "改裤脚、换拉链、缝补",
        "13800000001",
        "幸福小区",
        0.002,
        0.001,
        "Mo-Sa 08:00-12:00,13:00-18:00",
        False,
    ),
    (
        "李阿姨",
        ["tailor", "housekeeping"],
        "缝补、钟点工",
        "13800000002",
        "和平里",
        -0.004,
        0.003,
        "Mo-Fr 09:00-17:00",
        True,
    ),
    (
        "张师傅",
        ["shoe_repair", "key_lock"],
        "修鞋、配钥匙、配门禁卡",
        "13800000003",
        "幸福小区",
        0.001,
        -0.002,
        "Mo-Su 07:30-19:00",
        False,
    ),
    (
        "赵师傅",
        ["key_lock"],
        "开锁、换锁芯（公安备案）",
        "13800000004",
        "人民新村",
        0.006,
        0.004,
        "24/7",
        True,
    ),
    (
        "刘师傅",
        ["appliance_repair"],
        "冰箱洗衣机空调维修加氟",
        "13800000005",
        "和平里",
        -0.003,
        -0.004,
        "Mo-Sa 08:30-18:00",
        True,
    ),
    (
        "陈师傅",
        ["phone_repair"],
        "手机换屏换电池、老人机",
        "13800000006",
        "人民新村",
        0.0,
        0.005,
        "Mo-Su 10:00-21:00",
        False,
    ),
    (
        "周师傅",
        ["bike_repair"],
        "电动车自行车补胎换电瓶",
        "13800000007",
        "幸福小区",
        0.003,
        -0.001,
        "Mo-Su 07:00-19:00",
        False,
    ),
    (
        "吴师傅",
        ["plumbing_electric"],
        "通下水道、换水龙头、修电路",
        "13800000008",
        "和平里",
        -0.001,
        0.002,
        "Mo-Sa 08:00-18:00",
        True,
    ),
    (
        "郑师傅",
        ["haircut"],
        "理发、老人上门理发",
        "13800000009",
        "人民新村",
        0.004,
        -0.003,
        "Tu-Su 08:00-12:00,14:00-18:00",
        True,
    ),
    (
        "孙师傅",
        ["knife_sharpening", "watch_repair"],
        "磨刀磨剪子、修表换电池",
        "13800000010",
        "幸福小区",
        -0.002,
        -0.001,
        "Mo-Fr 09:00-16:00; Sa 09:00-12:00",
        False,
    ),
]


# Demo craftsmen who talk to the bot themselves (chat --user demo-craftsman: 我的信息).
DEMO_OPENIDS = {"王师傅": "demo-craftsman"}


async def seed_demo() -> str:
    """Create (or refresh) the demo craftsmen; the index is rebuilt when the app starts."""
    created = 0
    for name, cats, desc, phone, compound, d_lat, d_lng, hours, visits in DEMO:
        _, was_created = await Craftsman.update_or_create(
            name=name,
            phone=phone,
            defaults={
                "categories": cats,
                "description": desc,
                "compound": compound,
                "address": f"{compound}",
                "lat": CENTRE[0] + d_lat,
                "lng": CENTRE[1] + d_lng,
                "hours": hours,
                "home_visits": visits,
                "status": Status.APPROVED,
                "source": Source.DEMO,
                "openid": DEMO_OPENIDS.get(name),
            },
        )
        created += was_created
    return f"{len(DEMO)} craftsmen around People's Square ({created} new)"
