"""The normalised messages the bot receives and the replies it returns (no transport here)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from infra import keys
from infra.text import has_unprintable, printable


class Kind(StrEnum):
    TEXT = "text"  # typed text, or voice already recognised as text
    LOCATION = "location"
    IMAGE = "image"  # a photo (WeChat image message): `Incoming.image` says where WeChat keeps it
    EVENT = "event"
    MEDIA = "media"  # video, link, file (an image without its URL): the bot reads none of them
    UNKNOWN = "unknown"


class Channel(StrEnum):
    WECHAT = "wechat"  # Official Account (公众号)
    MINIPROGRAM = "miniprogram"
    GROUP = "group"
    CHAT = "chat"  # the terminal `python main.py chat`
    WECOM = "wecom"  # the WeCom intelligent bot (企业微信智能机器人): single chats and groups


@dataclass(frozen=True, slots=True)
class Location:
    """A point in GCJ-02 (what WeChat and Tencent maps use); `label` is the place name if any."""

    lat: float
    lng: float
    label: str = ""

    @property
    def usable(self) -> bool:
        """Real coordinates: finite and within range. `float()` takes "nan" and "inf" (the
        terminal's /loc, a stored value), and NaN passes every comparison-free check."""
        return (
            math.isfinite(self.lat)
            and math.isfinite(self.lng)
            and -90 <= self.lat <= 90
            and -180 <= self.lng <= 180
        )


@dataclass(frozen=True, slots=True)
class Image:
    """A photo as WeChat sends it: its URL on WeChat's servers and the MediaId the outbound API
    can fetch it by (for three days). Nothing is downloaded while the message is answered."""

    url: str
    media_id: str = ""


@dataclass(frozen=True, slots=True)
class Incoming:
    user: str
    kind: Kind
    channel: Channel = Channel.WECHAT
    text: str = ""
    voice: bool = False  # text came from WeChat's speech recognition
    location: Location | None = None
    image: Image | None = None  # Kind.IMAGE: None when the photo came without a usable URL
    event: str = ""  # subscribe, unsubscribe, click, view, location, ...
    event_key: str = ""
    msg_id: str = ""
    # The group chat the message was said in ("" for a one-to-one chat). With `channel` and
    # `user` (the member) it identifies the conversation: see `conversation`.
    chat: str = ""
    # Set by the transport when the bot was @-mentioned in a group (the mention is stripped).
    mentioned: bool = False
    # What is worked out from the message once and read many times while it is routed (its
    # conversation key, its text as the command filters read it). Not part of the message:
    # `dataclasses.replace` starts a new one empty.
    memo: dict[str, str] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Whatever the channel, text XML cannot carry never reaches a handler: stored in a
        # name or an address, it broke the replies of everyone shown it (infra.text).
        if has_unprintable(self.text):
            object.__setattr__(self, "text", printable(self.text))

    @property
    def conversation(self) -> str:
        """The (channel, chat, member) identity that conversation state (forms, pending
        actions, locations, scratch) is keyed by: one state per member per group. One-to-one
        chats use the member alone, so Official Account keys are what they always were."""
        conv = self.memo.get("conversation")
        if conv is None:
            conv = self.memo["conversation"] = keys.conversation(
                self.channel.value, self.chat, self.user
            )
        return conv

    @property
    def in_group(self) -> bool:
        return bool(self.chat)

    @classmethod
    def of_text(cls, user: str, text: str, channel: Channel = Channel.WECHAT) -> Incoming:
        return cls(user=user, kind=Kind.TEXT, channel=channel, text=text)

    @classmethod
    def of_location(
        cls, user: str, lat: float, lng: float, label: str = "", channel: Channel = Channel.WECHAT
    ) -> Incoming:
        return cls(
            user=user, kind=Kind.LOCATION, channel=channel, location=Location(lat, lng, label)
        )


@dataclass(frozen=True, slots=True)
class Reply:
    text: str
    # Extra fields later channels may render (e.g. a mini-program page to open).
    extra: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Stored text shown to someone (a name kept before input was cleaned) must not break
        # their reply, nor the answer kept for WeChat's retries (infra.text).
        if has_unprintable(self.text):
            object.__setattr__(self, "text", printable(self.text))


def as_replies(result: Reply | str | Sequence[Reply | str] | None) -> list[Reply]:
    """Handlers may return a string, a Reply, a list of either, or None."""
    if result is None:
        return []
    if isinstance(result, (str, Reply)):
        result = [result]
    return [r if isinstance(r, Reply) else Reply(r) for r in result]


def join_texts(replies: list[Reply]) -> str:
    """One message's replies as the single text a chat shows (blank line between them)."""
    return "\n\n".join(r.text for r in replies if r.text)
