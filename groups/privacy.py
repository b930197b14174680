"""What a group may see: never a resident's phone number or room number.

Two guards. Steps that ask for them (address, phone, emergency contact, the summary that repeats
them) move the member's form to a private chat with the bot. And every reply said in a group is
masked on the way out, so a status or a roster answered there shows buildings only.
"""

from __future__ import annotations

# Form steps whose question or answer carries a phone number or an address.
PRIVATE_STEPS = {"address", "phone", "emergency", "where", "confirm"}
# Forms whose steps never carry one, whatever the step is called.
PUBLIC_FORMS = {"groups.chain_confirm", "canteen.menu_confirm"}

GO_PRIVATE = (
    "这一步要填电话和地址，请私聊我（点我的头像发消息），我们接着填。"
    "不是企业微信成员的居民，请关注社区公众号报名。"
)

_DIGITS = set("0123456789")
_BUILDING_MARKS = ("号楼", "栋", "幢")


def _mask_phones(text: str) -> str:
    """Runs of 7 to 12 digits (optionally with - or spaces inside) are phone numbers here:
    keep the first 3 and the last 2 digits. One pass."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        if text[i] in _DIGITS:
            j, digits = i, 0
            while j < n and (text[j] in _DIGITS or (text[j] in "- " and j + 1 < n
                                                   and text[j + 1] in _DIGITS)):  # fmt: skip
                digits += text[j] in _DIGITS
                j += 1
            run = text[i:j]
            if 7 <= digits <= 12:
                only = "".join(c for c in run if c in _DIGITS)
                out.append(only[:3] + "*" * (len(only) - 5) + only[-2:])
            else:
                out.append(run)
            i = j
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def _mask_rooms(text: str) -> str:
    """'3号楼2单元401' → '3号楼': after a building mark, drop unit and room (digits, 单元, 室,
    号, -). One pass."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        mark = next((m for m in _BUILDING_MARKS if text.startswith(m, i)), None)
        if (
            mark is not None
            and out
            and out[-1]
            and out[-1][-1] in _DIGITS | set("零一二两三四五六七八九十")
        ):
            out.append(mark)
            j = i + len(mark)
            k = j
            while k < n and (
                text[k] in _DIGITS or text.startswith("单元", k) or text[k] in "室号-—"
            ):
                k += 2 if text.startswith("单元", k) else 1
            if k > j and any(c in _DIGITS for c in text[j:k]):
                i = k  # the unit and room go
            else:
                i = j
            continue
        out.append(text[i])
        i += 1
    return "".join(out)


def redact(text: str) -> str:
    return _mask_phones(_mask_rooms(text))


def asks_private(form_name: str, step: str) -> bool:
    return form_name not in PUBLIC_FORMS and step in PRIVATE_STEPS
