"""Settings from the environment (and an optional `.env`), validated once at start-up.

Nothing is read at import: `load_settings()` builds a frozen object that the app factory and the
CLI pass down. A bad variable fails start-up with an error that names it.
"""

from __future__ import annotations

import functools
import ipaddress
import secrets
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

WECHAT_API_DEFAULT = "https://api.weixin.qq.com"
WECOM_API_DEFAULT = "https://qyapi.weixin.qq.com"
_DB_SCHEMES = {"sqlite", "postgres", "postgresql", "asyncpg", "psycopg"}
_REDIS_SCHEMES = {"redis", "rediss", "unix"}
_SECRETS = {
    "WECHAT_TOKEN",
    "WECHAT_APP_SECRET",
    "WECHAT_AES_KEY",
    "MINI_APP_SECRET",
    "WECOM_BOT_TOKEN",
    "WECOM_BOT_AES_KEY",
    "WECOM_BOT_SECRET",
    "WECOM_STAFF_ROBOT_KEY",
}


Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# The weights VOLUNTEER_POINT_WEIGHTS may set (delivery.points.Weights; a test keeps them equal).
POINT_WEIGHT_KEYS = (
    "line", "high_floor_from", "high_floor", "top_floor_from", "top_floor", "taken_over",
    "handover", "grid_report", "courier",
)  # fmt: skip


@functools.lru_cache(maxsize=8)
def parse_networks(value: str) -> tuple[Network, ...]:
    """TRUSTED_PROXIES: "10.0.0.1, 192.168.0.0/16" -> networks; a bad entry is named."""
    out = []
    for part in value.replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            out.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ValueError(f"{part!r} is not an IP address or network") from None
    return tuple(out)


class SettingsError(Exception):
    """One or more environment variables are missing or invalid."""


def _blank_to_none(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(frozen=True, extra="ignore", env_file_encoding="utf-8")

    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    data_dir: Path = Path("data")
    database_url: str | None = None
    redis_url: str | None = None
    wechat_token: str | None = None
    wechat_app_id: str = "wx-linli-local"
    wechat_app_secret: str = "linli-local-secret"
    wechat_aes_key: str | None = None
    # The mini-program is an app of its own (its login and subscribe messages need its AppID
    # and AppSecret). Unset: the Official Account's are used, which only the fake server and
    # the demo accept.
    mini_app_id: str | None = None
    mini_app_secret: str | None = None
    wechat_api_base: str = WECHAT_API_DEFAULT
    wecom_api_base: str = WECOM_API_DEFAULT
    # Mini-program subscribe-message template for menu pushes (fields thing1, thing2, date3);
    # unset: residents who subscribed in the mini-program get no push.
    mini_menu_template_id: str | None = None
    # Official Account template for menu pushes to residents silent for 48 hours, whom WeChat
    # refuses customer-service messages (45015); fields first, keyword1-3, remark.
    wechat_menu_template_id: str | None = None
    # Template (first, keyword1, remark) for any other customer-service push refused with
    # 45015: rosters and alerts still reach volunteers and grid workers who have been silent.
    wechat_notice_template_id: str | None = None
    # WeCom group-robot key of the staff group: such a push refused with 45015 is also posted
    # there, marked with whom it was for (push/worker.py). Unset: only the template.
    wecom_staff_robot_key: str | None = None
    wechat_timestamp_skew: int = Field(300, ge=0)
    # WeChat gives up on a passive reply after 5 s; answer well before that.
    wechat_reply_deadline: float = Field(3.5, gt=0, le=4.5)
    max_body_bytes: int = Field(64 * 1024, ge=1024, le=10 * 1024 * 1024)
    log_level: str = "INFO"
    log_json: bool = True
    # Push worker (push/): `serve` runs it in-process unless this is false (tests, or when
    # `python main.py worker` runs separately).
    push_worker_inprocess: bool = True
    push_batch_size: int = Field(100, ge=1, le=1000)
    push_lease_seconds: float = Field(60.0, gt=0)
    push_max_attempts: int = Field(8, ge=1)
    push_retry_base: float = Field(2.0, gt=0)
    push_wechat_per_second: int = Field(100, ge=1)
    push_robot_per_minute: int = Field(20, ge=1, le=20)
    # Mini-program API and staff console (handlers/api_v1, handlers/console).
    api_session_ttl: int = Field(7 * 24 * 3600, ge=60)
    api_reads_per_minute: int = Field(120, ge=1)
    api_writes_per_minute: int = Field(30, ge=1)
    api_logins_per_minute: int = Field(30, ge=1)
    console_session_ttl: int = Field(8 * 3600, ge=60)
    # WeCom intelligent bot (企业微信智能机器人), handlers/wecom_bot.py. Callback mode: the
    # Token and EncodingAESKey of its API settings (URL /wecom/bot). Long-connection mode
    # (`python main.py wecom-bot`): the bot id and secret. A bot runs in one mode or the other.
    wecom_bot_token: str | None = None
    wecom_bot_aes_key: str | None = None
    wecom_bot_id: str | None = None
    wecom_bot_secret: str | None = None
    wecom_bot_ws_url: str = "wss://openws.work.weixin.qq.com"
    # Wait this long for an answer before the first passive reply says "working on it"; the
    # rest follows on WeCom's stream refreshes.
    wecom_bot_first_reply: float = Field(1.0, gt=0, le=4.5)
    # WeCom refreshes a stream for up to 6 minutes after the message; an answer no refresh
    # collected this long after it was ready goes out through response_url instead.
    wecom_bot_refresh_grace: float = Field(8.0, gt=0)
    wecom_bot_group_per_minute: int = Field(20, ge=1)
    wecom_bot_heartbeat: float = Field(30.0, gt=0)
    # Reverse proxies whose X-Forwarded-For / X-Forwarded-Proto are believed (comma-separated
    # addresses or networks, e.g. "127.0.0.1, 10.0.0.0/8"); empty: none, the peer is the client.
    trusted_proxies: str = ""
    # The 15-minute circle's map page (/map/) and poster (places/, handlers/map_page).
    # Where residents reach this server from outside (links in replies, the poster's QR code);
    # unset: http://HOST:PORT.
    public_url: str | None = None
    community_name: str = "幸福里社区"
    # The community centre, GCJ-02 "lat,lng", the rings' default centre; unset: the service hall
    # among the places (党群服务中心), else their middle.
    community_centre: str | None = None
    # A base map the operator is licensed to use, e.g. https://tiles.example/{z}/{x}/{y}.png,
    # and the datum its tiles are drawn in (AMap and Tencent: gcj02; OSM, Tianditu: wgs84).
    # Unset: the page is a schematic (points, rings, labels, scale bar) and asks nobody else.
    map_tile_url: str | None = None
    map_tile_datum: Literal["gcj02", "wgs84"] = "gcj02"
    map_tile_attribution: str = ""
    # The community's own emergency numbers, said in the first reply to an emergency: the lift
    # rescue line (96333 where the city has it; empty: the number on the lift plate, or 119)
    # and the gas company's 24-hour line (unset: "燃气公司" without a number).
    lift_rescue_phone: str = "96333"
    gas_company_phone: str | None = None
    # The community's duty phone (值班电话), given to a resident who asks for a person (转人工);
    # unset: they hear only that their grid worker was told.
    community_duty_phone: str | None = None
    # 今天我去不了: how long a round offered to the area's other volunteers waits for one to
    # accept before it goes back to the canteen staff (never past the meal's delivery time).
    handover_wait_minutes: int = Field(30, ge=1, le=240)
    # Volunteer points (delivery/points.py): the weights to change, as "high_floor=1,
    # top_floor=2,taken_over=1,handover=2" (any of POINT_WEIGHT_KEYS; the others keep their
    # defaults), and the buildings with a lift, whose floors earn no extra ("7,8,12").
    volunteer_point_weights: str = ""
    buildings_with_lift: str = ""

    @field_validator(
        "public_url",
        "gas_company_phone",
        "community_duty_phone",
        "community_centre",
        "map_tile_url",
        "database_url",
        "redis_url",
        "wechat_token",
        "wechat_aes_key",
        "mini_app_id",
        "mini_app_secret",
        "mini_menu_template_id",
        "wechat_menu_template_id",
        "wechat_notice_template_id",
        "wecom_bot_token",
        "wecom_bot_aes_key",
        "wecom_bot_id",
        "wecom_bot_secret",
        "wecom_staff_robot_key",
        mode="before",
    )
    @classmethod
    def _blank(cls, value: Any) -> Any:
        return _blank_to_none(value)

    @field_validator("volunteer_point_weights")
    @classmethod
    def _check_weights(cls, value: str) -> str:
        for part in filter(None, (p.strip() for p in value.replace("，", ",").split(","))):
            key, _, number = part.partition("=")
            if key.strip() not in POINT_WEIGHT_KEYS or not number.strip().isdigit():
                raise ValueError(
                    f"{part!r}: write key=points, keys: {', '.join(POINT_WEIGHT_KEYS)}"
                )
        return value

    @field_validator("database_url")
    @classmethod
    def _check_db(cls, value: str | None) -> str | None:
        if value is not None and urlsplit(value).scheme not in _DB_SCHEMES:
            raise ValueError("must be a sqlite:// or postgres:// URL")
        return value

    @field_validator("redis_url")
    @classmethod
    def _check_redis(cls, value: str | None) -> str | None:
        if value is not None and urlsplit(value).scheme not in _REDIS_SCHEMES:
            raise ValueError("must be a redis://, rediss:// or unix:// URL")
        return value

    @field_validator("wechat_token")
    @classmethod
    def _check_token(cls, value: str | None) -> str | None:
        # WeChat's console accepts 3-32 letters and digits.
        if value is not None and not (3 <= len(value) <= 32 and value.isalnum()):
            raise ValueError("must be 3-32 letters or digits")
        return value

    @field_validator("wechat_aes_key", "wecom_bot_aes_key")
    @classmethod
    def _check_aes(cls, value: str | None) -> str | None:
        if value is None:
            return value
        import base64
        import binascii

        try:
            ok = len(value) == 43 and len(base64.b64decode(value + "=")) == 32
        except binascii.Error:
            ok = False
        if not ok:
            raise ValueError("must be the 43-character EncodingAESKey from the WeChat console")
        return value

    @field_validator("wechat_api_base", "wecom_api_base")
    @classmethod
    def _check_base(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise ValueError("must be an http(s):// URL")
        return value.rstrip("/")

    @field_validator("public_url")
    @classmethod
    def _check_public_url(cls, value: str | None) -> str | None:
        if value is None:
            return value
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise ValueError("must be an http(s):// URL, e.g. https://linli.example.org")
        return value.rstrip("/")

    @field_validator("map_tile_url")
    @classmethod
    def _check_tiles(cls, value: str | None) -> str | None:
        if value is None:
            return value
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise ValueError("must be an http(s):// URL")
        if not all(p in value for p in ("{x}", "{y}", "{z}")):
            raise ValueError(
                "must hold {x}, {y} and {z}, e.g. https://tiles.example/{z}/{x}/{y}.png"
            )
        return value

    @field_validator("community_centre")
    @classmethod
    def _check_centre(cls, value: str | None) -> str | None:
        if value is None:
            return value
        import math

        try:
            lat, lng = (float(v) for v in value.replace("，", ",").split(","))
        except ValueError:
            raise ValueError("must be 'lat,lng' (GCJ-02), e.g. 31.2304,121.4737") from None
        if not (math.isfinite(lat) and math.isfinite(lng) and abs(lat) <= 85 and abs(lng) <= 180):
            raise ValueError("must be 'lat,lng' on the map, e.g. 31.2304,121.4737")
        return f"{lat},{lng}"

    @field_validator("trusted_proxies")
    @classmethod
    def _check_proxies(cls, value: str) -> str:
        parse_networks(value)
        return value

    @property
    def trusted_proxy_networks(self) -> tuple[Network, ...]:
        return parse_networks(self.trusted_proxies)

    @field_validator("log_level")
    @classmethod
    def _check_level(cls, value: str) -> str:
        value = value.upper()
        if value not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("must be DEBUG, INFO, WARNING or ERROR")
        return value

    @model_validator(mode="after")
    def _mini_pair(self) -> Settings:
        if (self.mini_app_id is None) != (self.mini_app_secret is None):
            raise ValueError("MINI_APP_ID and MINI_APP_SECRET go together: set both or neither")
        return self

    @property
    def mini_credentials(self) -> tuple[str, str]:
        """The mini-program's AppID and AppSecret (the Official Account's when unset)."""
        if self.mini_app_id and self.mini_app_secret:
            return self.mini_app_id, self.mini_app_secret
        return self.wechat_app_id, self.wechat_app_secret

    @property
    def base_url(self) -> str:
        """Where residents reach this server (PUBLIC_URL, else HOST:PORT)."""
        return self.public_url or f"http://{self.host}:{self.port}"

    @property
    def centre(self) -> tuple[float, float] | None:
        """COMMUNITY_CENTRE as (lat, lng), GCJ-02."""
        if not self.community_centre:
            return None
        lat, lng = self.community_centre.split(",")
        return float(lat), float(lng)

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "linli.sqlite3"

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite://{self.sqlite_path}"


def load_settings(env_file: str | Path | None = ".env", **overrides: Any) -> Settings:
    """Build settings from the environment, `.env` and explicit overrides (which win)."""
    try:
        return Settings(_env_file=env_file, **overrides)  # type: ignore[call-arg]
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            msg = str(err["msg"]).removeprefix("Value error, ")
            if not err["loc"]:  # a check across fields: its input is every setting, secrets too
                problems.append(msg)
                continue
            name = str(err["loc"][0]).upper()
            shown = "" if name in _SECRETS else f" (got {err.get('input')!r})"
            problems.append(f"{name}: {msg}{shown}")
        raise SettingsError("Invalid settings:\n  " + "\n  ".join(problems)) from None


def ensure_wechat_token(settings: Settings) -> Settings:
    """Without WECHAT_TOKEN, make one up once and keep it in DATA_DIR, so it stays stable."""
    if settings.wechat_token:
        return settings
    path = settings.data_dir / "wechat_token"
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if path.exists():
        token = path.read_text(encoding="utf-8").strip()
    else:
        token = secrets.token_hex(16)
        path.write_text(token + "\n", encoding="utf-8")
    return settings.model_copy(update={"wechat_token": token})
