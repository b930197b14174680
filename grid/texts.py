"""What the grid feature says to residents and grid workers (one place, plain Chinese)."""

from __future__ import annotations

import datetime as dt

from community.clock import SHANGHAI
from models.grid import GridReport

# How many reports one reply lists (a chat bubble, not a spreadsheet).
SHOWN = 10

NO_GRID_WORKER = "本社区还没有登记网格员。请直接打社区居委会的电话，抱歉。"
HANDOFF_PROBLEM = "居民想找真人说话"
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


def worker_push(report: GridReport, contact: str, at: dt.datetime) -> str:
    """The grid worker's copy of a new report, with the number to close it by."""
    head = f"【紧急·多日未见#{report.pk}】" if report.urgent else f"【居民反映#{report.pk}】"
    said = report.text if report.address in report.text else f"{report.address}：{report.text}"
    return f"{head}{said}\n{contact}（{at:%m月%d日 %H:%M}）\n{CLOSE_HINT.format(id=report.pk)}"


def todo(reports: list[GridReport]) -> str:
    if not reports:
        return NOTHING_OPEN
    lines = [f"待办的居民反映（{len(reports)}条，紧急的在前）："]
    for r in reports[:SHOWN]:
        flag = "【紧急】" if r.urgent else ""
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
