"""The mini-program API's plumbing. Each endpoint is declared once (route, who may call it,
request and response schemas); authentication, rate limits, validation and the OpenAPI document
are all derived from that one declaration, so the document cannot drift from the routes.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import math
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from aiohttp import web
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from tortoise.exceptions import IntegrityError

from community.errors import DomainError
from handlers.api import error, unstorable
from handlers.keys import bot_key, mini_api_key, redis_key, settings_key
from handlers.proxy import client_ip
from infra import keys
from wechat_api.client import WeChatAPIError

log = logging.getLogger(__name__)

PER_PAGE_DEFAULT = 20
PER_PAGE_MAX = 50
# A row id in a path: the id columns are int4, so a larger number names nothing (404) rather
# than reaching the database (which refuses it: a 500).
ID: dict[str, Any] = {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}


class Access(StrEnum):
    PUBLIC = "public"  # no token needed
    USER = "user"  # any logged-in user; ownership and staff scope are checked by the handler
    ADMIN = "admin"  # community administrators only


class ApiError(Exception):
    """Turned into the one error body by the endpoint wrapper."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        fields: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields
        self.headers = headers or {}

    def response(self) -> web.Response:
        resp = error(self.status, self.code, self.message, self.fields)
        resp.headers.update(self.headers)
        return resp


def invalid(fields: dict[str, str], message: str = "请求有误，请检查标出的字段。") -> ApiError:
    return ApiError(400, "invalid", message, fields)


# A domain error's code → HTTP status; any other code is a 400 on the field it names.
DOMAIN_STATUS = {
    "not_found": 404,
    "forbidden": 403,
    "conflict": 409,
    "full": 409,
    "past_cutoff": 409,
    "limit": 409,
    "not_open": 409,
    "already_cancelled": 409,
}


def from_domain(exc: DomainError) -> ApiError:
    """The one error body for a rule a service enforced: its code, its plain message, and the
    field it concerns (so the mini-program marks that field)."""
    status = DOMAIN_STATUS.get(exc.code, 400)
    if exc.field and status == 400:
        return invalid({exc.field: exc.message})
    return ApiError(status, exc.code, exc.message)


def not_found(what: str = "内容") -> ApiError:
    return ApiError(404, "not_found", f"没有找到这个{what}。")


def forbidden(message: str = "您没有权限做这件事。") -> ApiError:
    return ApiError(403, "forbidden", message)


def conflict(message: str) -> ApiError:
    return ApiError(409, "conflict", message)


@dataclass(frozen=True)
class Caller:
    user_id: int
    openid: str


@dataclass
class Call:
    """One API request, authenticated and validated."""

    request: web.Request
    caller: Caller | None
    path: dict[str, Any]
    query: dict[str, Any]
    body: dict[str, Any]

    @property
    def app(self) -> web.Application:
        return self.request.app

    @property
    def me(self) -> Caller:
        assert self.caller is not None, "endpoint declared PUBLIC uses the caller"
        return self.caller

    @property
    def redis(self) -> Any:
        return self.app[redis_key]

    @property
    def services(self) -> Any:
        return self.app[bot_key].services  # the bot's notify and clock: one of each per app


Handler = Callable[[Call], Awaitable[web.Response]]


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # aiohttp and OpenAPI share the {name} syntax
    handler: Handler
    summary: str
    tag: str
    access: Access = Access.USER
    path_params: dict[str, dict[str, Any]] = field(default_factory=dict)
    query: dict[str, dict[str, Any]] = field(default_factory=dict)
    required_query: tuple[str, ...] = ()
    body: dict[str, Any] | None = None
    ok_status: int = 200
    ok_schema: dict[str, Any] | None = None  # None: no body (204)
    ok_media: str = "application/json"  # e.g. text/csv for an export
    extra_statuses: tuple[int, ...] = ()  # e.g. 201 and 200 both possible, 403, 409

    @property
    def operation_id(self) -> str:
        return self.handler.__name__

    def statuses(self) -> list[int]:
        """Every status this endpoint can answer with (documented in the OpenAPI file)."""
        out = {self.ok_status, 400, 429, 503, *self.extra_statuses}
        if self.access is not Access.PUBLIC:
            out.add(401)
        if self.access is Access.ADMIN:
            out.add(403)
        if self.path_params:
            out.add(404)
        if self.body is not None:
            out.add(413)
        return sorted(out)


def ok(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=lambda o: json.dumps(o, ensure_ascii=False))


# ---- validation ------------------------------------------------------------------------------


def _message(err: ValidationError) -> str:
    v, value = err.validator, err.validator_value
    if isinstance(err.schema, dict) and "x-message" in err.schema:
        return str(err.schema["x-message"])  # what a person should read, e.g. for a latitude
    if v == "type":
        names = {
            "string": "文字",
            "integer": "整数",
            "number": "数字",
            "boolean": "true 或 false",
            "array": "列表",
            "object": "对象",
        }
        wanted = value if isinstance(value, list) else [value]
        return "应为" + "或".join(names.get(str(t), str(t)) for t in wanted if t != "null")
    if v == "minLength":
        return "不能为空" if value == 1 else f"至少{value}个字"
    if v == "maxLength":
        return f"最多{value}个字"
    if v in {"minimum", "exclusiveMinimum"}:
        return f"不能小于{value}"
    if v in {"maximum", "exclusiveMaximum"}:
        return f"不能大于{value}"
    if v == "minItems":
        return f"至少{value}项"
    if v == "maxItems":
        return f"最多{value}项"
    if v == "enum":
        return "只能是：" + "、".join(str(x) for x in value)
    if v == "format":
        return "格式不对，日期如 2026-11-25" if value == "date" else "格式不对"
    if v == "pattern":
        return "格式不对"
    if v == "minProperties":
        return "至少要改一项"
    return "不符合要求"


# At most this many field messages per answer: a 64 KB body of 30,000 wrong list items took
# 1.6 s of the event loop to describe item by item (and 8,000 unknown keys made a 200 KB answer).
MAX_FIELD_ERRORS = 50


def schema_errors(validator: Draft202012Validator, instance: Any) -> dict[str, str]:
    """Field-level messages, keyed by dotted path ("dishes.0.name"); "" for the whole body.
    The first MAX_FIELD_ERRORS only: the validator is asked for no more."""
    fields: dict[str, str] = {}
    first = itertools.islice(validator.iter_errors(instance), MAX_FIELD_ERRORS)
    for err in sorted(first, key=lambda e: list(e.absolute_path)):
        if len(fields) >= MAX_FIELD_ERRORS:
            break
        base = ".".join(str(p) for p in err.absolute_path)
        if err.validator == "required":
            for name in err.validator_value:
                if isinstance(err.instance, dict) and name not in err.instance:
                    fields.setdefault(f"{base}.{name}".lstrip("."), "必填")
        elif err.validator == "additionalProperties" and isinstance(err.instance, dict):
            known = set(err.schema.get("properties", {}))
            unknown = (name for name in err.instance if name not in known)
            for name in itertools.islice(unknown, MAX_FIELD_ERRORS - len(fields)):
                fields.setdefault(f"{base}.{name}".lstrip("."), "不认识的字段")
        else:
            fields.setdefault(base, _message(err))
    return fields


def _convert(raw: str, schema: dict[str, Any]) -> Any:
    kind = schema.get("type")
    if kind == "integer":
        return int(raw)
    if kind == "number":
        value = float(raw)
        if not math.isfinite(value):
            raise ValueError(raw)
        return value
    if kind == "boolean":
        if raw in {"true", "1"}:
            return True
        if raw in {"false", "0"}:
            return False
        raise ValueError(raw)
    return raw


def parse_params(
    raw: Any, schemas: dict[str, dict[str, Any]], required: tuple[str, ...]
) -> tuple[dict[str, Any], dict[str, str]]:
    values: dict[str, Any] = {}
    fields: dict[str, str] = {}
    for name, schema in schemas.items():
        if name not in raw:
            continue
        try:
            values[name] = _convert(raw[name], schema)
        except ValueError:
            fields[name] = _message(
                ValidationError("", validator="type", validator_value=schema["type"])
            )
    validator = Draft202012Validator(
        {
            "type": "object",
            "properties": schemas,
            "required": [r for r in required if r not in fields],
        },
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )
    fields.update(schema_errors(validator, values))
    for name, schema in schemas.items():
        if name not in values and "default" in schema:
            values[name] = schema["default"]
    return values, fields


# ---- sessions and rate limits ----------------------------------------------------------------


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def new_session(app: web.Application, caller: Caller) -> tuple[str, int]:
    """A random bearer token; Redis keeps only its hash, so a leaked dump opens no session."""
    token = secrets.token_urlsafe(32)
    ttl = app[settings_key].api_session_ttl
    value = json.dumps({"user_id": caller.user_id, "openid": caller.openid})
    await app[redis_key].set(keys.api_session(_hash(token)), value, ex=ttl)
    return token, ttl


def bearer(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def end_session(request: web.Request) -> None:
    token = bearer(request)
    if token:
        await request.app[redis_key].delete(keys.api_session(_hash(token)))


async def authenticate(request: web.Request) -> Caller:
    token = bearer(request)
    if token is None or len(token) > 200:
        raise ApiError(401, "unauthenticated", "请先登录。")
    raw = await request.app[redis_key].get(keys.api_session(_hash(token)))
    if not raw:
        raise ApiError(401, "unauthenticated", "登录已过期，请重新登录。")
    data = json.loads(raw)
    return Caller(int(data["user_id"]), str(data["openid"]))


async def rate_limit(request: web.Request, bucket: str, who: str, per_minute: int) -> None:
    """Fixed one-minute windows counted in Redis (shared by every process)."""
    now = time.time()
    window = int(now // 60)
    key = keys.api_rate(bucket, who, window)
    async with request.app[redis_key].pipeline(transaction=True) as pipe:
        pipe.incr(key)
        pipe.expire(key, 61)
        count, _ = await pipe.execute()
    if count > per_minute:
        retry = max(1, math.ceil((window + 1) * 60 - now))
        raise ApiError(
            429,
            "rate_limited",
            f"操作太频繁了，请{retry}秒后再试。",
            headers={"Retry-After": str(retry)},
        )


# ---- the wrapper -----------------------------------------------------------------------------


def _path_values(request: web.Request, ep: Endpoint) -> dict[str, Any]:
    values, fields = parse_params(request.match_info, ep.path_params, tuple(ep.path_params))
    if any(ep.path_params[name].get("type") == "integer" for name in fields):
        raise not_found()  # /craftsmen/abc names nothing, as /craftsmen/999 does
    if fields:
        raise invalid(fields)
    return values


async def _body(request: web.Request, ep: Endpoint, validator: Draft202012Validator) -> Any:
    try:
        payload = await request.json()
    except web.HTTPRequestEntityTooLarge:
        raise ApiError(413, "too_large", "请求体太大了。") from None
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "invalid_json", "请求体必须是 JSON。") from None
    except RecursionError:  # [[[[… a few hundred deep: the parser gives up (was a 500)
        raise ApiError(400, "invalid_json", "请求体嵌套太深了。") from None
    bad = unstorable(payload)
    if bad:
        raise invalid(bad)
    fields = schema_errors(validator, payload)
    if fields:
        raise invalid(fields if "" not in fields else {"": "请求体必须是 JSON 对象"})
    return payload


def wrap(ep: Endpoint) -> Callable[[web.Request], Awaitable[web.Response]]:
    body_validator = (
        Draft202012Validator(ep.body, format_checker=Draft202012Validator.FORMAT_CHECKER)
        if ep.body is not None
        else None
    )

    async def handle(request: web.Request) -> web.Response:
        settings = request.app[settings_key]
        try:
            caller = None
            if ep.access is Access.PUBLIC:
                who = client_ip(request)  # behind a trusted proxy, the client's own address
                limit = (
                    settings.api_logins_per_minute
                    if ep.method != "GET"
                    else settings.api_reads_per_minute
                )
            else:
                caller = await authenticate(request)
                who = str(caller.user_id)
                limit = (
                    settings.api_reads_per_minute
                    if ep.method == "GET"
                    else settings.api_writes_per_minute
                )
            bucket = "read" if ep.method == "GET" else "write"
            await rate_limit(request, bucket, who, limit)
            if ep.access is Access.ADMIN:
                from community.roles import is_admin

                assert caller is not None
                if not await is_admin(caller.openid):
                    raise forbidden("只有社区管理员可以做这件事。")
            path = _path_values(request, ep)
            query, fields = parse_params(request.query, ep.query, ep.required_query)
            if fields:
                raise invalid(fields)
            body = await _body(request, ep, body_validator) if body_validator else {}
            return await ep.handler(Call(request, caller, path, query, body))
        except ApiError as exc:
            return exc.response()
        except DomainError as exc:
            return from_domain(exc).response()
        except IntegrityError:
            # Two requests raced to create the same row; the loser gets a clean answer.
            return conflict("刚刚已经有相同的记录了，请刷新后再试。").response()

    handle.__name__ = ep.operation_id
    handle.__doc__ = ep.handler.__doc__
    return handle


# ---- helpers the domain modules share --------------------------------------------------------

PAGE_QUERY: dict[str, dict[str, Any]] = {
    "page": {"type": "integer", "minimum": 1, "maximum": 10000, "default": 1},
    "per_page": {
        "type": "integer",
        "minimum": 1,
        "maximum": PER_PAGE_MAX,
        "default": PER_PAGE_DEFAULT,
    },
}


# ---- schema helpers shared by the endpoint modules ---------------------------------------------

INT: dict[str, Any] = {"type": "integer"}
STR: dict[str, Any] = {"type": "string"}


# What a schema cannot say about a field but the server checks (a phone number's format, a
# trade named in words, a date not in the past): stated in the document as `x-server-rule`, so
# a client knows such a value may still get a field-level 400.
SERVER_RULE = "x-server-rule"


def checked(schema: dict[str, Any], rule: str) -> dict[str, Any]:
    """`schema` with the rule the server checks beyond it."""
    return {**schema, SERVER_RULE: rule}


PHONE_RULE = "手机是1开头的11位数字，座机如 021-12345678"


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def obj(required: list[str], props: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A closed object schema: these properties, these required, nothing else."""
    return {
        "type": "object",
        "additionalProperties": False,
        "required": required,
        "properties": props,
        **extra,
    }


def page_schema(item_ref: str) -> dict[str, Any]:
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["items", "page", "per_page", "total", "has_more"],
        "properties": {
            "items": {"type": "array", "items": {"$ref": f"#/components/schemas/{item_ref}"}},
            "page": {"type": "integer"},
            "per_page": {"type": "integer"},
            "total": {"type": "integer"},
            "has_more": {"type": "boolean"},
        },
    }


async def paged(call: Call, queryset: Any, render: Callable[[Any], Any]) -> web.Response:
    page, per_page = call.query["page"], call.query["per_page"]
    total = await queryset.count()
    rows = await queryset.offset((page - 1) * per_page).limit(per_page)
    return ok(page_body([render(r) for r in rows], page, per_page, total))


def page_body(items: list[Any], page: int, per_page: int, total: int) -> dict[str, Any]:
    return {
        "items": items,
        "page": page,
        "per_page": per_page,
        "total": total,
        "has_more": page * per_page < total,
    }


async def moderate(call: Call, texts: dict[str, str]) -> None:
    """WeChat's content check on text other people will see; risky text is refused (400).

    Checked before anything is written, so refused text is never shown to anyone.
    """
    api = call.app[mini_api_key]  # msg_sec_check is a mini-program API
    risky: dict[str, str] = {}
    for name, text in texts.items():
        if not text.strip():
            continue
        try:
            if not await api.msg_sec_check(call.me.openid, text):
                risky[name] = "内容未通过微信安全检测，请修改后再提交"
        except WeChatAPIError as exc:
            log.warning("msg_sec_check failed", extra={"errcode": exc.errcode})
            raise ApiError(503, "unavailable", "内容检测暂时不可用，请稍后再试。") from None
    if risky:
        raise invalid(risky, "有内容未通过安全检测。")
