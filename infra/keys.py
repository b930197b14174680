"""Every Redis key the project uses is built here, under one prefix (arq-style constants)."""

from __future__ import annotations

PREFIX = "linli:"

# WeChat callback de-duplication: one key per MsgId (or per event sender+time).
DEDUPE = PREFIX + "dedupe:"
# A resident's last known location (GCJ-02), from a location message or a LOCATION event.
LOCATION = PREFIX + "loc:"
# Conversation state (form, pending action, location, scratch) is per conversation: one member
# in one chat. Its builders below take `who`, which is `conversation(...)`: on the Official
# Account (and every one-to-one chat) that is the member's id unchanged, so existing residents'
# keys stay byte-identical; in a group chat it is "channel:chat:member".
#
# Multi-turn form state of one conversation.
FORM = PREFIX + "form:"
# An action waiting for something from the user (e.g. a search waiting for a location).
PENDING = PREFIX + "pending:"
# Shared outbound-API access token of one app (Official Account, mini-program) and the lock
# taken while refreshing it.
ACCESS_TOKEN = PREFIX + "wechat:access_token:"
# Per-user conversation scratch space (e.g. paging through search results).
SCRATCH = PREFIX + "scratch:"
# Push worker: send-time windows per rate-limited channel/target, and the wake-up list that
# `push.outbox.wake` pushes to after an enqueue commits.
PUSH_RATE = PREFIX + "push:rate:"
PUSH_WAKE = PREFIX + "push:wake"


def conversation(channel: str, chat: str, member: str) -> str:
    """The `who` of the per-conversation keys: the member alone in a one-to-one chat, else
    channel, chat and member (a group's id never contains ':', WeCom's are alphanumeric)."""
    if not chat:
        return member
    return f"{channel}:{chat}:{member}"


def access_token(app_id: str) -> str:
    return ACCESS_TOKEN + app_id


def access_token_lock(app_id: str) -> str:
    return ACCESS_TOKEN + app_id + ":lock"


def dedupe(message_key: str) -> str:
    return DEDUPE + message_key


# The last few things said in a conversation and answered (JSON, a day), handed to the person
# a resident asks for (转人工) so they need not repeat themselves; read with the prefetch and
# written with the answer, so keeping it costs no round trip.
RECENT = PREFIX + "exchanges:"  # a list (it was a JSON string under "recent:")


def recent(who: str) -> str:
    return RECENT + who


def location(who: str) -> str:
    return LOCATION + who


def form(who: str) -> str:
    return FORM + who


def pending(who: str) -> str:
    return PENDING + who


# Held (a random token, with a lease) while one of the user's messages is answered: a user's
# messages are answered one at a time (bot/turns.py).
TURN = PREFIX + "turn:"


def turn(user: str) -> str:
    return TURN + user


INBOX = PREFIX + "inbox:"


def inbox(user: str) -> str:
    """Full texts of pushes that reached the user shortened, as a template message."""
    return INBOX + user


ELDERLY = PREFIX + "elderly:"


def elderly(user: str) -> str:
    """Whether a user walks slowly (models.users.User.elderly), cached for directory searches."""
    return ELDERLY + user


COMPOUND = PREFIX + "compound:"


def compound(user: str) -> str:
    """The compound a resident named for their searches (models.users.User.compound, "" for
    none), kept for nearby searches (bot/nearby.py); written by whatever changes it."""
    return COMPOUND + user


def scratch(who: str, name: str) -> str:
    return f"{SCRATCH}{name}:{who}"


def push_rate(name: str) -> str:
    return PUSH_RATE + name


def family_requests(who: str, day: str) -> str:
    """How many 绑定家人 requests one account made on one day (family.service's daily limit)."""
    return f"{PREFIX}family:asked:{day}:{who}"


# Craftsman directory: one GEO set per category (members are craftsman ids, approved only)
# and one hash of small display cards, so a search never touches the database.
DIRECTORY_GEO = PREFIX + "dir:geo:"
DIRECTORY_CARDS = PREFIX + "dir:cards"


def directory_geo(category: str) -> str:
    return DIRECTORY_GEO + category


def directory_cards() -> str:
    return DIRECTORY_CARDS


# How often each craftsman was shown on a search's first page in one month (a hash: craftsman
# id -> count), for 我的数据; counted with the answer (StateView.count_later), kept ~2 months.
DIRECTORY_FOUND = PREFIX + "dir:found:"


def directory_found(month: str) -> str:
    """`month` as "2026-11"."""
    return DIRECTORY_FOUND + month


# Places of the 15-minute circle, indexed as the directory is: one GEO set per place kind
# (verified places only) and one hash of display cards.
PLACE_GEO = PREFIX + "place:geo:"
PLACE_CARDS = PREFIX + "place:cards"


def place_geo(kind: str) -> str:
    return PLACE_GEO + kind


def place_cards() -> str:
    return PLACE_CARDS


# Mini-program API: sessions (by a hash of the bearer token) and per-user rate-limit windows.
API_SESSION = PREFIX + "api:session:"
API_RATE = PREFIX + "api:rate:"
# Staff console: sessions (by a hash of the cookie), one-time login codes and their throttle.
CONSOLE_SESSION = PREFIX + "console:session:"
CONSOLE_CODE = PREFIX + "console:code:"
CONSOLE_CODE_SENT = PREFIX + "console:code_sent:"


def api_session(token_hash: str) -> str:
    return API_SESSION + token_hash


def api_rate(bucket: str, who: str, window: int) -> str:
    return f"{API_RATE}{bucket}:{who}:{window}"


def console_session(token_hash: str) -> str:
    return CONSOLE_SESSION + token_hash


def console_code(user_id: int, browser: str) -> str:
    """One staff member's code, bound to the browser that asked for it (a hash of its login
    cookie): guesses from elsewhere can neither use nor burn it."""
    return f"{CONSOLE_CODE}{user_id}:{browser}"


def console_code_sent(who: str, browser: str) -> str:
    """Set for a minute after a code was sent for this account to this browser."""
    return f"{CONSOLE_CODE_SENT}{who}:{browser}"


# WeCom intelligent bot (handlers/wecom_bot.py): one hash per reply stream (the answer, whether
# it is ready and how it went out), one counter per group and minute (a busy group cannot flood
# the bot), and for the long connection the lock that lets one process hold it (WeCom allows
# one connection per bot) and the queue of proactive group messages it sends.
WECOM_STREAM = PREFIX + "wecom:stream:"
WECOM_GROUP_RATE = PREFIX + "wecom:rate:"
WECOM_WS_LOCK = PREFIX + "wecom:ws:lock:"
WECOM_WS_OUTBOX = PREFIX + "wecom:ws:outbox:"


def wecom_stream(stream_id: str) -> str:
    return WECOM_STREAM + stream_id


def wecom_group_rate(chat_id: str, window: int) -> str:
    return f"{WECOM_GROUP_RATE}{chat_id}:{window}"


def wecom_ws_lock(bot_id: str) -> str:
    return WECOM_WS_LOCK + bot_id


def wecom_ws_outbox(bot_id: str) -> str:
    return WECOM_WS_OUTBOX + bot_id

# NLU review queue: messages the bot did not understand or had to ask about, scrubbed of
# phones, names and addresses, newest first and capped (bot.nlu_review), for staff to label.
NLU_REVIEW = PREFIX + "nlu:review"
