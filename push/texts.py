"""What the push worker itself says (the copy of a staff message sent to the staff group)."""

from __future__ import annotations

from models.users import Role

ROLE_NAMES = {
    Role.ADMIN: "管理员",
    Role.VOLUNTEER: "志愿者",
    Role.CANTEEN_STAFF: "食堂工作人员",
}
GRID_WORKER = "网格员"


def staff_copy(who: str, text: str) -> str:
    """The head of a message WeChat would not deliver (48 hours), as posted in the staff group."""
    return f"【转给{who}】对方超过48小时未与公众号互动，微信消息发不到，请转告：\n{text}"
