"""Everything the family feature says, in one place."""

from __future__ import annotations

HOW = "请发送“绑定家人 老人登记送餐时留的手机号”，如：绑定家人 13812345678"
NO_ELDER = (
    "没找到用这个手机号给自己登记过送餐的老人。请老人先在公众号登记送餐（留本人手机号），"
    "或请社区工作人员帮您绑定。"
)
NOT_YOURSELF = "这是您自己登记的手机号，不用绑定自己。"
ALREADY = "你们已经绑定了：老人送餐没人应答或紧急求助时，会同时通知您。"
NOTHING_PENDING = "现在没有等您确认的家人绑定。"
NOT_LINKED = "您还没有绑定家人。" + HOW
UNLINKED = "已解除家人绑定，以后不再通知对方。"


# The same answer whether or not the phone belongs to a resident: the reply must not tell a
# stranger which numbers are known (an unknown phone silently makes no request).
SAY_AGREE = "有家人想和您绑定。同意请回复“同意”，不同意请回复“不同意”。"
ASKED = "已发出请求，对方同意后就绑定好了。老人送餐没人应答或紧急求助时，会同时通知您。"
TOO_MANY = "今天发的绑定请求太多了，请明天再试，或请社区工作人员帮您绑定。"


def ask_elder(note: str) -> str:
    who = f"（{note}）" if note else ""
    return (
        f"【家人绑定】有位家人{who}想在您送餐没人应答或紧急求助时收到通知。"
        "同意请回复“同意”，不同意请回复“不同意”。"
    )


def agreed(count: int) -> str:
    return (
        f"好的，已绑定{count}位家人。送餐没人应答或紧急求助时会通知他们。回复“解除家人绑定”可取消。"
    )


DECLINED = "好的，没有绑定。"
TOLD_AGREED = "【家人绑定】老人已同意。送餐没人应答或老人紧急求助时，会同时通知您。"
TOLD_DECLINED = "【家人绑定】老人没有同意绑定。"
TOLD_BY_STAFF = (
    "【家人绑定】社区工作人员已为您绑定家人。送餐没人应答或老人紧急求助时，会同时通知您。"
)


def delivery_alert(what: str) -> str:
    """A no-answer (or unreported) delivery of the elder, to a linked relative."""
    return f"【送餐提醒】您家人订的{what}。已通知网格员，请您也尽快联系家人。"


def listing(elders: list[str], relatives: list[str]) -> str:
    lines = []
    if elders:
        lines.append(f"您绑定了{len(elders)}位老人，老人送餐没人应答或紧急求助时会通知您。")
    if relatives:
        lines.append(f"有{len(relatives)}位家人绑定了您，您送餐没人应答或紧急求助时会通知他们。")
    lines.append("回复“解除家人绑定”可取消。")
    return "\n".join(lines)


NO_SUCH_LINK = "没有这个家人绑定（可能已经解除了）。"
REVOKED_BY_STAFF = (
    "【家人绑定】社区工作人员已解除一个家人绑定，以后不再通知对方。如有疑问请联系社区。"
)
