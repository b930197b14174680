"""What the privacy feature says to residents (plain Chinese, short)."""

from __future__ import annotations

WHAT_WE_KEEP = (
    "我们只存为您办事用得着的：\n"
    "· 送餐的地址、电话、忌口和订餐记录：送饭和联系您；\n"
    "· 您向网格员反映的事、照片和电话：处理和回复您；\n"
    "· 您对师傅的评价、投诉，菜单订阅；\n"
    "· 家人绑定（谁和谁、谁通知谁）和等对方同意的绑定请求：送餐没人应答或紧急求助时通知家人；\n"
    "· 您发的位置（7天）和最近几句对话（1天）：找附近的服务，您找真人时转给网格员。\n"
    "只给社区工作人员办事用，不给别人。想删除，回复“删除我的信息”。"
)


def linked_elder(whom: str) -> str:
    return f"· 您绑定了{whom}：老人送餐没人应答或紧急求助时通知您"


def linked_relative(note: str) -> str:
    who = f"家人（{note}）" if note else "一位家人"
    return f"· {who}绑定了您：您送餐没人应答或紧急求助时通知他们"


def courier_registration(trade: str, approved: bool) -> str:
    """A courier's/rider's volunteer registration, and why it is kept."""
    why = "随手拍转给网格员、记志愿者积分" if approved else "社区审核"
    return f"· 您的{trade or '快递/外卖'}志愿者登记（姓名、电话、公司、片区）：{why}用"


def what_we_keep(family: list[str], courier: str | None = None) -> str:
    """The general list, and this account's own family links and courier registration when
    it has them."""
    if not family and courier is None:
        return WHAT_WE_KEEP
    head, tail = WHAT_WE_KEEP.rsplit("\n", 1)
    own = ["您的家人绑定：", *family] if family else []
    return "\n".join([head, *own, *([courier] if courier else []), tail])


SAY_CONFIRM = "为防误删，请回复完整的“确认删除我的信息”。不删了就不用管。"
ASK_CONFIRM = (
    "删除后，您的地址、电话、忌口、反映的事（连同照片和位置）、评价和投诉里的身份、菜单订阅、家人绑定、"
    "快递/外卖志愿者登记、位置和对话都会删掉，"
    "还没到截止时间的送餐报名会取消；订餐记录只留份数（不带您的信息），用于食堂统计。\n"
    "确定的话请回复“确认删除我的信息”。"
)
MEAL_ON_ITS_WAY = "您今天有一份已过截止时间的送餐还没送到，先不能删除。饭送到以后再来删除吧。"
ERASED = "已删除您的信息{cancelled}。以后需要时再找我就行。"
