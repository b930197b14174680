"""What the grid feature says to residents and grid workers (one place, plain Chinese)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import quote

from community.clock import SHANGHAI
from models.grid import CourierVolunteer, GridReport

# How many reports one reply lists (a chat bubble, not a spreadsheet).
SHOWN = 10

NO_GRID_WORKER = "本社区还没有登记网格员。请直接打社区居委会的电话，抱歉。"
HANDOFF_PROBLEM = "居民想找真人说话"
CLOSE_HOW = "办结哪一条？请回复“办结 编号 处理结果”，比如“办结 12 灯已换好”；编号看“我的待办”。"
NOT_LISTED = "您的待办里没有第{place}条（现在有{count}条）。请回复“我的待办”看一下编号。"
NOT_GRID_WORKER = "这是网格员的功能。您是网格员的话，请社区管理员在后台给您登记。"
NO_SUCH_REPORT = "没有第{id}号居民反映，请对照“我的待办”里的编号再发一次。"
ALREADY_CLOSED = "第{id}号已经办结了（{when}），不用再办。"
NOTE_NEEDED = "请在编号后面写一句处理结果，比如“办结 {id} 灯已换好”，居民会收到这句话。"
CLOSE_HINT = "处理完请回复“办结 {id} 处理结果”，我会告诉居民。"
NOTHING_OPEN = "您现在没有待办的居民反映。"
NOTHING_REPORTED = "您还没有向网格员反映过事情。有事可以直接说，比如“5号楼楼道灯坏了”。"


def day(at: dt.datetime) -> str:
    local = at.astimezone(SHANGHAI)
    return f"{local.month}月{local.day}日"


def gist(report: GridReport, size: int = 30) -> str:
    text = report.text.replace("\n", " ")
    return text[:size] + ("…" if len(text) > size else "")


def map_link(lat: float, lng: float, label: str = "") -> str:
    """A map page marking the point (Tencent maps reads GCJ-02, as WeChat sends it)."""
    title = quote(label or "居民反映的位置")
    return (
        "https://apis.map.qq.com/uri/v1/marker?marker="
        f"coord:{lat:.6f},{lng:.6f};title:{title}&referer=linli"
    )


def place_text(report: GridReport) -> str:
    """The place a report was sent with, as a line: label and coordinates; "" for none."""
    if report.lat is None or report.lng is None:
        return ""
    label = f"{report.place_label}，" if report.place_label else ""
    return f"位置：{label}{map_link(report.lat, report.lng, report.place_label or '')}"


def photo_lines(report: GridReport) -> list[str]:
    photos = report.photos or []
    return [f"照片{i}：{p.get('url', '')}" for i, p in enumerate(photos, start=1)]


def marks(report: GridReport) -> str:
    """【有照片】【有位置】【志愿者】: what 我的待办 and the push show before the text."""
    out = ""
    if report.volunteer_id is not None:
        out += "【志愿者随手拍】"
    if report.photos:
        out += f"【有照片{len(report.photos)}张】" if len(report.photos) > 1 else "【有照片】"
    if report.lat is not None:
        out += "【有位置】"
    return out


def worker_push(
    report: GridReport,
    contact: str,
    at: dt.datetime,
    volunteer: CourierVolunteer | None = None,
) -> str:
    """The grid worker's copy of a new report, with the number to close it by, its photos (WeChat's
    links, valid three days) and its place on a map."""
    head = f"【紧急·多日未见#{report.pk}】" if report.urgent else f"【居民反映#{report.pk}】"
    if volunteer is not None:
        head = f"【志愿者随手拍#{report.pk}】"
    said = report.text if report.address in report.text else f"{report.address}：{report.text}"
    lines = [f"{head}{said}"]
    if volunteer is not None:
        lines.append(
            f"来自{volunteer.trade}志愿者 {volunteer.name}（{volunteer.company}，"
            f"{volunteer.area}）"
        )
    if report.photos:
        lines.append(f"附照片{len(report.photos)}张（3天内可看）：")
        lines += photo_lines(report)
    if place := place_text(report):
        lines.append(place)
    lines.append(f"{contact}（{at:%m月%d日 %H:%M}）")
    lines.append(CLOSE_HINT.format(id=report.pk))
    return "\n".join(lines)


def addition_push(
    report: GridReport, photo: dict[str, Any] | None, at: dict[str, Any] | None, now: dt.datetime
) -> str:
    """A photo or a place sent after the report: its grid workers get it with the number."""
    lines = [f"【居民反映#{report.pk} 补充】{gist(report)}"]
    if photo is not None:
        lines.append(f"居民补发了照片（3天内可看）：{photo.get('url', '')}")
    if at is not None and (where := place_text(report)):
        lines.append(f"居民补发了{where}")
    lines.append(f"（{now:%m月%d日 %H:%M}）")
    return "\n".join(lines)


def todo(reports: list[GridReport]) -> str:
    if not reports:
        return NOTHING_OPEN
    lines = [f"待办的居民反映（{len(reports)}条，紧急的在前）："]
    for r in reports[:SHOWN]:
        flag = ("【紧急】" if r.urgent else "") + marks(r)
        phone = f"，电话{r.phone}" if r.phone else ""
        lines.append(f"#{r.pk} {flag}{r.address}：{gist(r)}（{day(r.created_at)}{phone}）")
    if len(reports) > SHOWN:
        lines.append(f"还有{len(reports) - SHOWN}条，先办完上面的再看。")
    lines.append("办完回复“办结 编号 处理结果”，比如“办结 12 灯已换好”。")
    return "\n".join(lines)


def closed_for_worker(report: GridReport) -> str:
    return f"第{report.pk}号已办结，已告诉居民：{report.note}"


def closed_for_resident(report: GridReport) -> str:
    assert report.closed_at is not None
    return (
        f"您{day(report.created_at)}反映的“{gist(report)}”，网格员已办结"
        f"（{day(report.closed_at)}）：{report.note}\n还有问题可以直接再说。"
    )


def resident_state(report: GridReport) -> str:
    head = f"{day(report.created_at)} “{gist(report, 20)}”"
    if report.photos:
        head += f"（附照片{len(report.photos)}张）"
    if report.closed_at is not None:
        return f"{head}：已办结（{day(report.closed_at)}），{report.note}"
    return f"{head}：网格员处理中"


def mine(reports: list[GridReport]) -> str:
    if not reports:
        return NOTHING_REPORTED
    lines = ["您反映过的事："] + [resident_state(r) for r in reports[:SHOWN]]
    return "\n".join(lines)


def undelivered(problem: str, at: dt.datetime) -> str:
    return (
        f"抱歉，您{at:%m月%d日 %H:%M}反映的“{problem[:30]}”没能送到网格员手里，"
        "已转给社区工作人员跟进。有急事请拨打110或120。"
    )


def handoff_push(
    report: GridReport, contact: str, recent: list[dict[str, str]], at: dt.datetime
) -> str:
    """A grid worker's copy of 转人工: who, how to reach them, what they said to the bot."""
    lines = [
        f"【居民找真人#{report.pk}】{report.address}的居民想找人说话，请联系一下。",
        f"{contact}（{at:%m月%d日 %H:%M}）",
    ]
    if recent:
        lines.append("最近和机器人说的：")
        for r in recent:
            lines.append(f"{r.get('at', '')} 居民：{r.get('said', '')}")
            if r.get("answer"):
                lines.append(f"　回复：{r['answer']}")
    lines.append(CLOSE_HINT.format(id=report.pk))
    return "\n".join(lines)


def handed_off(duty_phone: str | None, phone: str) -> str:
    later = "会尽快打电话给您" if phone else "会尽快上门找您"
    said = f"好的，已请您楼的网格员来帮您，刚才说的话也转给了他，{later}。"
    if duty_phone:
        said += f"\n着急的话请直接打社区值班电话：{duty_phone}。"
    return said + "\n有急事请拨打110或120。"


# ---- photos and places sent by chat --------------------------------------------------------

HOW_TO_SNAP = (
    "随手拍：直接拍张照片发给我，再说一句是什么事、在哪（也可以发个位置），我转给网格员。"
    "遇到着火、有人摔倒这样的急事，请先打119、120。"
)
PHOTO_UNREADABLE = "抱歉，这张照片没收到，请再发一次。也可以直接打字或发语音说是什么事。"
TOO_MANY_PHOTOS = "一件事最多附{n}张照片，已经够了。"
PHOTO_FIRST = "照片收到了。"
PLACE_FIRST = "位置收到了。"
PHOTO_IN_FORM = "照片收到了（共{n}张），会一起转给网格员。"
PLACE_IN_FORM = "位置收到了，会一起转给网格员。"
# bot.texts.LOCATION_SAVED, then what else a place is for.
PLACE_KEPT = "\n要向网格员反映这里的问题，直接说是什么事，或者发张照片。"
WHERE_WITH_PLACE = "在哪栋楼附近？说个楼号，比如“5号楼楼道”；不清楚楼号就回复“就在这”。"
PLACE_ONLY = {"就在这", "就在这里", "就这", "就这里", "这里", "这儿", "就在这儿", "位置", "不知道"}


JOINED_EMERGENCY = "您刚才发的照片已经转给网格员了。"


def joined(report: GridReport, what: str) -> str:
    return f"{what}已补充到您刚才反映的第{report.pk}号事情里，网格员能看到。"


def place_where(label: str) -> str:
    return (label or "发来的位置")[:64]


# ---- couriers and riders as volunteers --------------------------------------------------------

VOLUNTEER_NOT_APPROVED = "您的志愿者登记还在等社区审核，通过后随手拍就能直接转给网格员。"
ALREADY_VOLUNTEER = "您已经是社区志愿者了。路上看到问题，拍张照片发给我，再说一句在哪、什么事就行。"
NOT_ADMIN = "这是社区管理员的功能。"
NO_SUCH_VOLUNTEER = "没有第{id}号志愿者登记。"
VOLUNTEER_DECIDED = "第{id}号志愿者登记已经处理过了。"
VOLUNTEER_APPROVED = (
    "您的社区志愿者登记已通过，谢谢您！送件路上看到问题（路灯坏了、井盖松了、有人摔倒），"
    "拍张照片发给我，再发个位置或说一句在哪，我转给那片的网格员。遇到急事请先打120、119、110。"
)
VOLUNTEER_REJECTED = "抱歉，您的社区志愿者登记这次没有通过。有疑问请联系社区居委会。"
VOLUNTEER_REGISTERED = (
    "登记好了，等社区审核，通过了我会告诉您。审核通过后，路上拍的照片就能直接转给网格员。"
)


def volunteer_for_admin(v: CourierVolunteer) -> str:
    return (
        f"【志愿者登记#{v.pk}】{v.trade} {v.name}（{v.company}），电话{v.phone}，"
        f"跑{v.area}一带。想当社区志愿者随手拍，请在后台审核。"
    )
