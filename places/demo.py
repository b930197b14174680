"""The demo community's service points around its centre (People's Square, GCJ-02), for
`seed-demo`: every kind at least once, within and just beyond a 15-minute walk."""

from __future__ import annotations

from craftsman_directory.demo import CENTRE
from models.places import Place, PlaceSource

# (name, kind, address, metres north, metres east, hours, phone, offerings)
DEMO: list[tuple[str, str, str, float, float, str, str, str]] = [
    (
        "幸福里党群服务中心",
        "service_hall",
        "幸福路1号",
        0,
        0,
        "Mo-Fr 08:30-17:00; Sa 09:00-12:00",
        "021-63210001",
        "办证咨询、社保医保、老年卡",
    ),
    (
        "幸福里社区卫生服务站",
        "health",
        "幸福路15号",
        260,
        -180,
        "Mo-Su 08:00-17:00",
        "021-63210002",
        "配药、量血压、家庭医生签约",
    ),
    (
        "仁心大药房",
        "pharmacy",
        "和平街22号",
        -320,
        150,
        "Mo-Su 08:00-22:00",
        "021-63210003",
        "处方药、医保卡",
    ),
    ("康宁药房（24小时）", "pharmacy", "人民路88号", 820, 560, "24/7", "021-63210004", "夜间售药"),
    ("幸福菜市场", "market", "幸福路40号", 420, 300, "Mo-Su 06:00-18:30", "", "蔬菜、肉、水产"),
    ("邻家便利店", "shop", "和平街5号", -120, -90, "24/7", "021-63210005", "日用品、代缴水电"),
    ("好又多超市", "shop", "人民路120号", 650, -420, "Mo-Su 08:00-21:30", "021-63210006", ""),
    ("老王早餐铺", "breakfast", "幸福路9号", 90, 140, "Mo-Su 06:00-10:00", "", "豆浆、油条、粢饭"),
    (
        "菜鸟驿站（幸福里店）",
        "express",
        "幸福里小区3号楼底商",
        -200,
        260,
        "Mo-Su 08:00-21:00",
        "13800001001",
        "代收快递、寄件",
    ),
    ("丰巢快递柜（和平里）", "express", "和平里小区南门", -480, -350, "24/7", "", "自助取件"),
    (
        "幸福里爱心食堂",
        "canteen",
        "3号楼底商",
        40,
        -220,
        "Mo-Su 11:00-12:30,17:00-18:30",
        "021-63210007",
        "老人助餐、送餐上门",
    ),
    (
        "电动车充电站（幸福里）",
        "charging",
        "幸福里小区北门车棚",
        330,
        -40,
        "24/7",
        "",
        "扫码充电，1元/小时",
    ),
    (
        "暖新驿站（人民路）",
        "rider_station",
        "人民路60号",
        150,
        480,
        "Mo-Su 07:00-22:00",
        "021-63210008",
        "饮水、充电、热饭、休息",
    ),
    (
        "幸福里日间照料中心",
        "elder_care",
        "幸福路21号",
        -260,
        -300,
        "Mo-Fr 08:00-17:00",
        "021-63210009",
        "日托、助浴、康复",
    ),
    (
        "社区文化活动中心",
        "culture_sports",
        "幸福路3号二楼",
        60,
        40,
        "Tu-Su 09:00-20:00",
        "021-63210010",
        "书屋、棋牌、舞蹈",
    ),
    ("和平公园健身点", "culture_sports", "和平公园东门", -700, 520, "24/7", "", "健身器材"),
    ("幸福路公厕", "toilet", "幸福路与和平街路口", 200, 60, "Mo-Su 05:00-23:00", "", "无障碍厕位"),
    ("人民路公厕", "toilet", "人民路100号旁", 900, -700, "24/7", "", ""),
]

M_PER_DEG_LAT = 111_195.0


def _point(north_m: float, east_m: float) -> tuple[float, float]:
    import math

    lat = CENTRE[0] + north_m / M_PER_DEG_LAT
    lng = CENTRE[1] + east_m / (M_PER_DEG_LAT * math.cos(math.radians(CENTRE[0])))
    return round(lat, 7), round(lng, 7)


async def seed_demo() -> str:
    """Create (or refresh) the demo places; the index is rebuilt when the app starts."""
    created = 0
    for name, kind, address, north, east, hours, phone, offerings in DEMO:
        lat, lng = _point(north, east)
        _, was_created = await Place.update_or_create(
            name=name,
            address=address,
            defaults={
                "kind": kind,
                "lat": lat,
                "lng": lng,
                "hours": hours,
                "phone": phone,
                "offerings": offerings,
                "verified": True,
                "source": PlaceSource.DEMO,
            },
        )
        created += was_created
    return f"{len(DEMO)} places of the 15-minute circle ({created} new)"
