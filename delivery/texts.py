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
