"""What the canteen says about copying last week's menu (short, plain Chinese)."""

from __future__ import annotations

import datetime as dt

WEEKDAYS = "一二三四五六日"
NOT_STAFF_COPY = "只有食堂工作人员可以复制菜单。如需开通，请联系社区管理员。"
TOO_MANY_DAYS = "一次最多复制7天的菜单。"
PAST_DAY = "不能给过去的日子发布菜单。"


def day_label(day: dt.date) -> str:
    return f"{day.month}月{day.day}日（周{WEEKDAYS[day.weekday()]}）"


def no_menu(source: dt.date, meals: str) -> str:
    return f"上周{day_label(source)}{meals}没有发布过菜单，没法照着复制。请直接发一份新菜单。"


def missing(source: dt.date, meals: str) -> str:
    return f"（上周{day_label(source)}{meals}没有菜单，没复制）"


def already_published(day: dt.date, meal: str) -> str:
    return f"（{day_label(day)}{meal}已经发布过菜单，确认后会作为更正重新推送）"


DRAFT_HEAD = "照上周的菜单做好了草稿（还没发布）："
EDIT_HINT = (
    "要改就直接说，比如“红烧肉换成红烧鸡腿”“去掉拍黄瓜”“加 汤：冬瓜汤”“价格12元”"
    "（有几餐时前面加上哪一餐，如“晚餐加青菜”）。\n回复“确认”发布，回复“取消”放弃。"
)
