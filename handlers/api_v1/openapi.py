"""The OpenAPI 3.1 document, built from the endpoint declarations (the same ones that route,
authenticate and validate), so it cannot list a route that does not exist or miss one."""

from __future__ import annotations

from typing import Any

from bot.nlu.labels import CATEGORIES, INTENTS, PLACES
from handlers.api import MAX_TEXT
from handlers.api_v1.core import Access, Endpoint

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "additionalProperties": False,
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string", "description": "给用户看的中文说明"},
                "fields": {
                    "type": "object",
                    "description": "出错的字段（如 dishes.0.name）和原因",
                    "additionalProperties": {"type": "string"},
                },
            },
        }
    },
}

STATUS_TEXT = {
    200: "成功",
    201: "已创建",
    204: "成功，无内容",
    400: "请求有误（fields 里是出错的字段）",
    401: "未登录或登录已过期",
    403: "没有权限",
    404: "没有找到",
    409: "与当前状态冲突",
    413: "请求体太大",
    429: "太频繁，Retry-After 秒后再试",
    503: "依赖的服务暂时不可用",
}

_ERROR_REF = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}

# Routes registered outside the endpoint tables (handlers/api.py), described by hand.
NLU_PARSE: dict[str, Any] = {
    "post": {
        "operationId": "nlu_parse",
        "summary": "理解一句话：意图、行当、槽位（调试用）",
        "tags": ["nlu"],
        "security": [],
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["text"],
                        "properties": {
                            "text": {
                                "type": "string",
                                "minLength": 1,
                                "maxLength": MAX_TEXT,
                                "pattern": r"\S",  # not only spaces
                            }
                        },
                    }
                }
            },
        },
        "responses": {
            "200": {
                "description": "成功",
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["intent", "confidence", "slots"],
                            "properties": {
                                "intent": {"type": "string", "enum": list(INTENTS)},
                                "category": {
                                    "type": ["string", "null"],
                                    "enum": [*CATEGORIES, None],
                                    "description": "行当，只在 intent 为 find_craftsman 时有",
                                },
                                "place": {
                                    "type": ["string", "null"],
                                    "enum": [*PLACES, None],
                                    "description": "服务点种类，只在 intent 为 find_place 时有",
                                },
                                "confidence": {"type": "number", "minimum": 0, "maximum": 1},
                                "slots": {"type": "object"},
                                "clarify": {
                                    "type": "array",
                                    "items": {"type": "string"},
                                    "description": "两个行当分不清时，要问用户的两个行当",
                                },
                                "confident": {
                                    "type": "boolean",
                                    "description": (
                                        "false：最可能的两种理解很接近或把握不大，"
                                        "机器人会先问用户是哪一种（见 alternatives）"
                                    ),
                                },
                                "alternatives": {
                                    "type": "array",
                                    "description": "几种理解，最可能的在前（intent、score，"
                                    "找师傅带 category，找服务点带 place）",
                                    "items": {
                                        "type": "object",
                                        "required": ["intent", "score"],
                                        "properties": {
                                            "intent": {"type": "string", "enum": list(INTENTS)},
                                            "score": {"type": "number"},
                                            "category": {"type": ["string", "null"]},
                                            "place": {"type": ["string", "null"]},
                                        },
                                    },
                                },
                                "model": {
                                    "type": ["string", "null"],
                                    "description": "做出判断的模型版本（null：只用词表规则）",
                                },
                            },
                        }
                    }
                },
            },
            "400": {"description": STATUS_TEXT[400], "content": _ERROR_REF},
            "413": {"description": STATUS_TEXT[413], "content": _ERROR_REF},
            "503": {"description": STATUS_TEXT[503], "content": _ERROR_REF},
        },
    }
}


def _parameters(ep: Endpoint) -> list[dict[str, Any]]:
    params = [
        {"name": name, "in": "path", "required": True, "schema": schema}
        for name, schema in ep.path_params.items()
    ]
    params += [
        {
            "name": name,
            "in": "query",
            "required": name in ep.required_query,
            "schema": schema,
        }
        for name, schema in ep.query.items()
    ]
    return params


def _responses(ep: Endpoint) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for status in ep.statuses():
        entry: dict[str, Any] = {"description": STATUS_TEXT[status]}
        if status < 300:
            if ep.ok_schema is not None and status != 204:
                entry["content"] = {ep.ok_media: {"schema": ep.ok_schema}}
        else:
            entry["content"] = _ERROR_REF
            if status == 429:
                entry["headers"] = {
                    "Retry-After": {"schema": {"type": "integer"}, "description": "秒"}
                }
        out[str(status)] = entry
    return out


def document(endpoints: list[Endpoint], schemas: dict[str, Any]) -> dict[str, Any]:
    paths: dict[str, Any] = {"/api/nlu/parse": NLU_PARSE}
    for ep in endpoints:
        op: dict[str, Any] = {
            "operationId": ep.operation_id,
            "summary": ep.summary,
            "tags": [ep.tag],
            "responses": _responses(ep),
        }
        if ep.handler.__doc__:
            op["description"] = ep.handler.__doc__.strip()
        op["security"] = [] if ep.access is Access.PUBLIC else [{"bearer": []}]
        if ep.access is Access.ADMIN:
            op["x-roles"] = ["admin"]
        params = _parameters(ep)
        if params:
            op["parameters"] = params
        if ep.body is not None:
            op["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": ep.body}},
            }
        paths.setdefault(ep.path, {})[ep.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "linli 邻里 小程序接口",
            "version": "1",
            "description": (
                "先用 POST /api/login 换取 token，之后在请求头带 Authorization: Bearer <token>。"
                "错误统一为 {error: {code, message, fields?}}。"
            ),
        },
        "paths": paths,
        "components": {
            "schemas": {"Error": ERROR_SCHEMA, **schemas},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
