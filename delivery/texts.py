"""What the meal-delivery rules say to people: the chat, the REST API and the console show
these same sentences."""

from __future__ import annotations

import datetime as dt

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


def close_preview(
    day: str, meals: list[str], bookings: int, residents: int, volunteers: int
) -> str:
    crew = "（送餐志愿者也会收到通知）" if volunteers else ""
    return (
        f"要停餐：{day}{'、'.join(meals)}。会取消{bookings}份报名，"
        f"并通知{residents}位居民{crew}。回复“确认”停餐，“算了”不停。"
    )


CLOSE_NOT_YET = "还没停餐。"
CLOSE_WAITING = "（停餐还没确认）"
CLOSE_ASK_AGAIN = "停餐是一会儿前问的，报名可能有变化，按现在的情况再确认一次："
CLOSE_KEPT = "好的，不停餐了。报名都还在，没有通知任何人。"


REOPEN_WHICH_DAY = "哪天恢复供餐？比如“12月3日不停餐了”或“恢复供餐 明天午餐”。"


def day_reopened_for_staff(day: str, meals: list[str]) -> str:
    if not meals:
        return f"{day}没有停餐，也没有售罄，照常接受报名。"
    return (
        f"好的，{day}{'、'.join(meals)}恢复了，居民又能报名了。"
        "停餐时已取消的报名不会自动恢复，需要的话请告诉居民重新报名。"
    )


# ---- volunteer points ------------------------------------------------------------------------

NOT_VOLUNTEER = "积分是给送餐志愿者和登记通过的快递、外卖志愿者的。想当志愿者请联系社区。"
NOT_STAFF_POINTS = "志愿者积分榜只给食堂工作人员和社区管理员看。"


def my_points(year: int, total: int, month: int | None, month_line: str, rule: str) -> str:
    head = f"您{year}年的志愿者积分：{total}分"
    if month is None:
        return f"{head}。\n{month_line}"
    return (
        f"{head}（本月{month}分）。\n{month_line}\n{rule}；每年1月1日重新计。"
        "看去年的回复“去年积分”。谢谢您！"
    )


def work_line(when: str, lines: int, high_floor: int, taken_over: int, tasks: int) -> str:
    """本月送餐12户，其中高楼层3户、接手的2户；任务1项。"""
    said = f"{when}送餐{lines}户"
    parts = [f"高楼层{high_floor}户"] if high_floor else []
    if taken_over:
        parts.append(f"接手的{taken_over}户")
    if parts:
        said += "，其中" + "、".join(parts)
    if tasks:
        said += f"；另有任务{tasks}项（接下求助、报告问题等）"
    return said + "。"


COURIER_MARK = "快递/外卖志愿者"


def courier_work_line(year: int, reports: int, tasks: int) -> str:
    """今年随手拍报告问题3件。 (a courier/rider volunteer delivers no meals)"""
    said = f"{year}年随手拍报告问题{reports}件"
    if tasks > reports:
        said += f"，另有任务{tasks - reports}项"
    return said + "。"


def year_list(year: int, rows: list[tuple[str, str, int, bool]]) -> str:
    """`rows`: name, area, points, and whether a courier/rider volunteer (marked so)."""
    if not rows:
        return f"{year}年还没有志愿者积分记录。"
    lines = [f"{year}年志愿者积分榜（送餐按楼层加分，接手和任务另计）："]
    for n, (name, area, points, courier) in enumerate(rows, 1):
        where = f"（{area}）" if area else ""
        mark = f"【{COURIER_MARK}】" if courier else ""
        lines.append(f"{n}. {name}{mark}{where}：{points}分")
    lines.append("完整名单和导出请用管理后台的“志愿者积分”页。")
    return "\n".join(lines)


# ---- 今天我去不了 ----------------------------------------------------------------------------

NOT_VOLUNTEER_ROUND = "这是送餐志愿者的功能。想当志愿者请联系社区。"
NOTHING_TO_HAND_OVER = (
    "您今天的名单上没有还没送的户。名单还没出来的话，请直接告诉食堂工作人员今天去不了。"
)
ALREADY_OFFERED = "您的求助已经发出了，正在等其他志愿者接。又能去了请回复“我又能去了”。"
NO_OFFER = "现在没有要您帮忙送的。谢谢您！"
ALREADY_TAKEN = "谢谢您！这一趟已经有别的志愿者接了，不用去了。"
GONE_TO_STAFF = "谢谢您！这一趟已经交给食堂安排了，不用去了。"
GIVER_CAN_GO = "谢谢您！原来的志愿者又能去了，不用去了。"
ALREADY_YOURS = "这一趟已经交给您了。回复“我的名单”看要送的户。"
TAKEN_FOR_OTHERS = "【送餐】刚才的求助已经有志愿者接了，不用去了。谢谢您！"
WITHDRAWN_FOR_OTHERS = "【送餐】刚才求助的志愿者又能去了，不用帮忙了。谢谢您！"
EXPIRED_FOR_OTHERS = "【送餐】刚才的求助已交给食堂安排，不用再回复了。谢谢您！"
NOTHING_TO_TAKE_BACK = "您今天没有请别人帮忙送。"
TAKE_BACK_TAKEN = "已经有志愿者接了您今天的那一趟，不用您去了。谢谢！"
TAKE_BACK_TO_STAFF = "那一趟已经交给食堂安排了。要自己送的话请直接联系食堂。"


def handover_offer(area: str, count: int, where: str, until: str, number: int) -> str:
    return (
        f"【送餐求助】{area}的一位志愿者今天去不了，有{count}户还没送：{where}。"
        f"能去的请回复“我来送”（或“接{number}”），先回复的接。{until}前没人接就交给食堂。"
    )


def handover_for_staff(area: str, count: int, lines: str, helpers: int, until: str) -> str:
    head = f"【送餐】{area}的一位志愿者今天去不了，{count}户还没送。"
    if helpers:
        head += f"已请同片区的{helpers}位志愿者帮忙，有人接了或{until}前没人接都会告诉您。"
    else:
        head += "这个片区没有别的志愿者，请安排人送。"
    return f"{head}\n{lines}"


def handed_over(count: int, to_volunteers: int, until: str) -> str:
    if to_volunteers:
        return (
            f"好的，您今天的{count}户已发给同片区的{to_volunteers}位志愿者，有人接了告诉您；"
            f"{until}前没人接就交给食堂。又能去了请回复“我又能去了”。谢谢您！"
        )
    return f"好的，您今天的{count}户已转给食堂工作人员安排。谢谢您！"


def taken_back(count: int) -> str:
    return f"好的，您今天的{count}户还是您送，已告诉其他志愿者不用帮忙了。谢谢您！"


def which_offer(choices: list[tuple[int, str, int]]) -> str:
    lines = ["现在有几个求助，请回复要接哪个："]
    lines += [f"接{number}：{area} {count}户" for number, area, count in choices]
    return "\n".join(lines)


def taken_reply(count: int, lines: str, hint: str) -> str:
    return f"谢谢您！这{count}户交给您了：\n{lines}\n{hint}"


def taken_nothing_left() -> str:
    return "谢谢您！这一趟已经没有要送的了（都送到了或取消了），不用去了。"


def taken_for_giver(taker: str, count: int) -> str:
    return f"【送餐】{taker}接了您今天的{count}户，您安心休息。"


def taken_for_staff(area: str, giver: str, taker: str, count: int) -> str:
    return f"【送餐】{area}：{giver}今天去不了的{count}户，{taker}接了。"


def withdrawn_for_staff(area: str) -> str:
    return f"【送餐】{area}刚才说去不了的志愿者又能去了，还是他送。"


def expired_for_staff(area: str, count: int, lines: str) -> str:
    return (
        f"【送餐·请安排】{area}的一位志愿者今天去不了，{count}户没有志愿者接，请安排人送：\n"
        f"{lines}"
    )


def expired_for_giver(count: int) -> str:
    return f"【送餐】您今天的{count}户没有志愿者接，已交给食堂安排。您安心休息。"


# ---- a closed day: volunteers whose roster was already sent ---------------------------------


def round_off_for_volunteer(day: str, meal: str, count: int) -> str:
    return (
        f"【送餐取消】食堂{day}{meal}停餐，已发给您的送餐名单（{count}户）作废，不用去送了。"
        "谢谢您！"
    )


SOLD_OUT_WHICH = "哪一餐售罄？比如“售罄 午餐”或“明天晚餐售罄”。"


def sold_out(day: str, meal: str, booked: int) -> str:
    return f"已设为售罄：{day}{meal}不再接受报名，已报名的{booked}份照常送。"


# A resident booking a closed day or a sold-out meal (delivery.service.book): the same words in
# the chat and the API's `message`, with what is still open.
def booking_day_closed(day: str, meal: str, offer: str) -> str:
    return f"{day}{meal}食堂停餐，不送餐，没法报名。{offer}"


def booking_sold_out(day: str, meal: str, offer: str) -> str:
    return f"{day}{meal}已经售罄了，不能再报名。{offer}"


def other_meal_open(meal: str, day: dt.date, count: int) -> str:
    return f"当天{meal}还有名额，要报就回复“送餐 {day.month}月{day.day}日{meal}{count}份”。"


def later_day_open(said: str, day: dt.date, meal: str, count: int) -> str:
    return f"{said}{meal}还有名额，要报就回复“送餐 {day.month}月{day.day}日{meal}{count}份”。"


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


HOW_TO_APPLY = (
    "60岁以上、80岁以上、低保、特困、残疾的老人订送餐有助餐补贴，"
    "请带身份证或相关证件到食堂核实办理，由工作人员设置。"
)


def my_tiers(lines: list[str]) -> str:
    if not lines:
        return f"您还没有报名送餐。{HOW_TO_APPLY}要报名回复“送餐”。"
    listed = "\n".join(lines)
    return f"您的助餐补贴：\n{listed}\n{HOW_TO_APPLY}"
