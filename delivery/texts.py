"""What the meal-delivery rules say to people: the chat, the REST API and the console show
these same sentences."""

from __future__ import annotations

NO_CANTEEN = "本社区还没有开通食堂送餐。"
NO_SUCH_CANTEEN = "没有这个食堂"
NOT_DELIVERING = "这个食堂不送餐。"
PAST_DAY = "不能报过去的日子。"
TOO_MANY_DAYS = "一次最多报一个月。"
PAST_CUTOFF_CANCEL = "已过截止时间，取消不了了，饭还会按时送到。有急事请联系食堂。"
ALREADY_CANCELLED = "这份报名已经取消了。"


def only_meals(names: list[str]) -> str:
    return f"食堂只送{'、'.join(names)}。" if names else NOT_DELIVERING


NOT_STAFF_CLOSE = "只有食堂工作人员可以停餐。如需开通，请联系社区管理员。"
CLOSE_PAST = "不能给过去的日子停餐。"
CLOSE_WHICH_DAY = "哪天停餐？比如“停餐 12月3日”或“停餐 明天午餐”。"


def day_closed_for_resident(day: str, meal: str, label: str) -> str:
    whom = "" if label in ("本人", "") else f"（给{label}订的）"
    return f"抱歉，食堂{day}{meal}停餐，您{whom}订的送餐已取消，不收费。需要的话请另作安排。"


def day_closed_for_staff(day: str, meals: list[str], cancelled: int, told: int) -> str:
    said = f"已停餐：{day}{'、'.join(meals)}，居民不能再报名。"
    if cancelled:
        return said + f"\n取消了{cancelled}份报名，已通知{told}位居民。"
    return said + "\n这天还没有人报名。"


# ---- volunteer points ------------------------------------------------------------------------

NOT_VOLUNTEER = "积分是给送餐志愿者的。想当志愿者请联系社区。"
NOT_STAFF_POINTS = "志愿者积分榜只给食堂工作人员和社区管理员看。"


def my_points(year: int, month: int, points_year: int, points_month: int) -> str:
    return (
        f"您{year}年的志愿者积分：{points_year}分（本月{points_month}分）。"
        "每送到一户记1分，每年年底清零重计。谢谢您！"
    )


def year_list(year: int, rows: list[tuple[str, str, int]]) -> str:
    if not rows:
        return f"{year}年还没有志愿者送到记录。"
    lines = [f"{year}年志愿者积分榜（每送到一户1分）："]
    for n, (openid, area, points) in enumerate(rows, 1):
        where = f"（{area}）" if area else ""
        lines.append(f"{n}. 志愿者…{openid[-4:]}{where}：{points}分")
    return "\n".join(lines)


# ---- 今天我去不了 ----------------------------------------------------------------------------

NOT_VOLUNTEER_ROUND = "这是送餐志愿者的功能。想当志愿者请联系社区。"
NOTHING_TO_HAND_OVER = (
    "您今天的名单上没有还没送的户。名单还没出来的话，请直接告诉食堂工作人员今天去不了。"
)


def handover_for_volunteer(area: str, count: int, lines: str) -> str:
    return (
        f"【送餐求助】{area}的一位志愿者今天去不了，下面{count}户还没送，能帮忙的请直接去送，"
        f"送到后回复“序号 送到”：\n{lines}"
    )


def handover_for_staff(area: str, count: int, lines: str, helped: bool) -> str:
    head = f"【送餐】{area}的一位志愿者今天去不了，{count}户还没送。"
    if helped:
        head += "已请同片区的其他志愿者帮忙，没人接的话请安排。"
    else:
        head += "这个片区没有别的志愿者，请安排人送。"
    return f"{head}\n{lines}"


def handed_over(count: int, to_volunteers: int) -> str:
    if to_volunteers:
        return (
            f"好的，您今天的{count}户已转给同片区的{to_volunteers}位志愿者，也告诉了食堂。"
            "谢谢您！"
        )
    return f"好的，您今天的{count}户已转给食堂工作人员安排。谢谢您！"


SOLD_OUT_WHICH = "哪一餐售罄？比如“售罄 午餐”或“明天晚餐售罄”。"


def sold_out(day: str, meal: str, booked: int) -> str:
    return f"已设为售罄：{day}{meal}不再接受报名，已报名的{booked}份照常送。"


# ---- meal subsidies (助餐补贴) ----------------------------------------------------------------

TIER_CHOICES = "60岁以上、80岁以上、低保、特困、残疾，取消补贴说“无”"
NOT_STAFF_TIER = (
    "补贴类别由食堂工作人员核实后设置，自己改不了。"
    "符合条件的（60岁以上、80岁以上、低保、特困、残疾），请带身份证或相关证件到食堂办理。"
)
NOT_STAFF_SUBSIDY = "只有本食堂的工作人员可以改补贴标准。"
NO_TIER_AMOUNT = "“无补贴”没有补贴金额。"
BAD_SUBSIDY_AMOUNT = "补贴金额不对，请写每餐补贴多少元，比如“4”或“2.5”。"
BAD_MONTH = "月份请写成“2026-11”这样。"
TIER_WHO = (
    "给谁设补贴？请写地址或电话，比如“补贴 3号楼2单元401 80岁以上”"
    "或“补贴 13812345678 低保”。"
)
TIER_HOW = (
    "设补贴类别请发：补贴 地址或电话 类别，比如“补贴 3号楼2单元401 80岁以上”。"
    f"类别可以是：{TIER_CHOICES}。查这个月的补贴统计发“本月补贴”。"
)


def unknown_tier(said: str) -> str:
    return f"“{said}”不是补贴类别。可以是：{TIER_CHOICES}。"


def no_recipient(who: str) -> str:
    return f"没有找到“{who}”的送餐对象。请核对地址或电话；还没报过送餐的，要先报名。"


def which_recipient(lines: list[str], first_id: int, tier: str) -> str:
    listed = "\n".join(lines)
    return (
        f"找到{len(lines)}位，是哪一位？\n{listed}\n"
        f"请按编号再发一次，比如“补贴 编号{first_id} {tier or '80岁以上'}”。"
    )


def tier_set(line: str, before: str, after: str, pays: str, upcoming: int) -> str:
    said = f"已设置：{line}" if before == after else f"已改为{after}（原来{before}）：{line}"
    said += f"\n{pays}"
    if upcoming:
        said += f"\n已报名还没送的{upcoming}份按新类别算，已送的不变。"
    return said


def my_tiers(lines: list[str]) -> str:
    if not lines:
        return "您还没有送餐对象，也就没有助餐补贴。要报名回复“送餐”。"
    listed = "\n".join(lines)
    return f"您的助餐补贴：\n{listed}\n补贴类别由食堂工作人员核实后设置，有疑问请联系食堂。"
