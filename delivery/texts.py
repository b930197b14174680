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
