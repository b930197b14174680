"""The mini-program REST API under /api/: one routes table per domain, wired by `setup`.

A new domain (e.g. meal-delivery sign-ups) adds a module with `ENDPOINTS` and `SCHEMAS` and is
listed in DOMAINS; routing, auth, limits, validation and the OpenAPI document follow from it.
"""

from __future__ import annotations

import importlib
import json
from typing import Any

from aiohttp import web

from handlers.api_v1 import openapi
from handlers.api_v1.core import Access, Call, Endpoint, ok

DOMAINS = [
    "handlers.api_v1.accounts",
    "handlers.api_v1.directory",
    "handlers.api_v1.canteen",
    "handlers.api_v1.delivery",
    "handlers.api_v1.subsidy",
    "handlers.api_v1.places",
]

document_key = web.AppKey("openapi_document", dict)


def endpoints() -> tuple[list[Endpoint], dict[str, Any]]:
    eps: list[Endpoint] = []
    schemas: dict[str, Any] = {}
    for name in DOMAINS:
        module = importlib.import_module(name)
        eps.extend(module.ENDPOINTS)
        schemas.update(module.SCHEMAS)
    return eps, schemas


async def openapi_json(call: Call) -> web.Response:
    """This document."""
    return ok(call.app[document_key])


OPENAPI = Endpoint(
    "GET",
    "/api/openapi.json",
    openapi_json,
    "OpenAPI 3.1 文档",
    "meta",
    access=Access.PUBLIC,
    ok_schema={"type": "object"},
)


def setup(app: web.Application) -> None:
    from handlers.api_v1.core import wrap

    eps, schemas = endpoints()
    eps.append(OPENAPI)
    for ep in eps:
        app.router.add_route(ep.method, ep.path, wrap(ep))
    app[document_key] = openapi.document(eps, schemas)
    json.dumps(app[document_key])  # fail at start-up, not on the first request
