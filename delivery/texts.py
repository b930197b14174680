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
