"""The ASGI application: `create_app` puts the pages, the API and the safety nets together.

Owns `create_app` and what wraps every request: the body size limit
(413 before the app reads more than it allows), the security headers (a
Content Security Policy that allows scripts and styles from this site only,
no framing, no sniffing), the signed session cookie (``HttpOnly``,
``SameSite=Lax``, ``Secure`` when asked), the error answers (problem
details under ``/api``, a page elsewhere; never a traceback), and the
test clock (``POST /_test/clock``), which exists only when a `ManualClock`
is given (``procflow serve --test-clock``).

The routes are coroutines that call the engine directly: its calls are short
and CPU-bound, and a thread pool would only make them take turns at the GIL
(at 20 concurrent requests, each took several times longer). What is slow
(drawing a diagram with Graphviz, running the scenarios) goes to a thread.
For more than one core, run several worker processes (``uvicorn --workers``
or gunicorn) over a shared store.

Imports the runtime, and `web.pages`, `web.api`, `web.sitewide`, `web.problems`.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable, Iterable
from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from procflow.errors import ProcflowError
from procflow.runtime.clock import ManualClock
from procflow.runtime.engine import Engine
from procflow.runtime.reasons import explain
from procflow.runtime.values import MAX_SUBMISSION
from procflow.web import api, pages
from procflow.web.auth import SignIn
from procflow.web.problems import PROBLEM_TYPE, Problem, from_validation, problem, problem_response
from procflow.web.sitewide import Site, site_of
from procflow.web.staff import Staff

__all__ = ["MAX_BODY", "create_app"]

log = logging.getLogger("procflow.web")

MAX_BODY = MAX_SUBMISSION + 256 * 1024
"""Most bytes of a request body (a submission's limit and room for the form around it)."""
_UPLOAD_PATH = "/attachments"
STATIC = Path(__file__).parent / "static"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


class BodyTooLarge(Exception):
    """A request body grew past its limit while it was read."""

    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self.limit = limit


class Guard:
    """The outermost layer: body size limits and security headers (see the module docstring)."""

    def __init__(self, app: ASGIApp, *, max_body: int, max_upload: int) -> None:
        self.app = app
        self.max_body = max_body
        self.max_upload = max_upload

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        limit = self.max_upload if path.endswith(_UPLOAD_PATH) else self.max_body
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length", b"")
        if length.isdigit() and int(length) > limit:
            await _too_large(path, limit)(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit)
            return message

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                extra = [
                    (b"content-security-policy", CSP.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"x-frame-options", b"DENY"),
                    (b"referrer-policy", b"same-origin"),
                ]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, counted, with_headers)


def _too_large(path: str, limit: int) -> Response:
    detail = f"the request body is larger than the {limit:,} bytes allowed"
    if path.startswith("/api/"):
        body = Problem(
            type="https://procflow.dev/problems/too-large",
            title="The request body is too large",
            status=413,
            detail=detail,
        )
        return problem_response(body)
    return HTMLResponse(f"<!doctype html><title>413</title><p>{detail}</p>", status_code=413)


class ClockMove(BaseModel):
    days: float = Field(0, ge=0, le=3660)
    hours: float = Field(0, ge=0, le=100_000)
    minutes: float = Field(0, ge=0, le=1_000_000)


def create_app(
    engine: Engine,
    staff: Staff,
    *,
    sign_in: SignIn,
    secret_key: str | None = None,
    folders: Iterable[Path] = (),
    test_clock: ManualClock | None = None,
    https_only: bool = False,
    max_body: int = MAX_BODY,
) -> FastAPI:
    """The web application over ``engine``.

    Args:
        engine: The engine (its ``administrators`` are those of ``staff``, best).
        staff: The people who may sign in, with their roles.
        sign_in: Who a request is from (`procflow.web.auth`): plug real authentication in here.
        secret_key: Signs the session cookie; a random one (sessions end at a restart)
            when None.
        folders: Where the scenarios are, for the scenario results page.
        test_clock: The engine's `ManualClock`, to be moved by ``POST /_test/clock``
            (tests only; None: no such route).
        https_only: Mark the session cookie ``Secure`` (behind TLS).
        max_body: Most bytes of a request body (attachments: the engine's limit).
    """
    app = FastAPI(
        title="procflow",
        version="1",
        description="Run documented business processes: tasks, instances and their history.",
        docs_url=None,
        redoc_url=None,
    )
    app.state.site = Site(engine, staff, sign_in, list(folders), test_clock)
    app.include_router(api.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(
        SessionMiddleware,
        secret_key=secret_key or secrets.token_urlsafe(32),
        session_cookie="procflow_session",
        same_site="lax",
        https_only=https_only,
        max_age=12 * 3600,
    )
    if test_clock is not None:
        _add_test_clock(app, engine, test_clock)
    _add_errors(app)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    upload = engine.supervision.max_attachment + 64 * 1024
    app.add_middleware(Guard, max_body=max_body, max_upload=upload)
    return app


def _add_test_clock(app: FastAPI, engine: Engine, clock: ManualClock) -> None:
    @app.post("/_test/clock", include_in_schema=False)
    def move_clock(move: ClockMove) -> dict[str, Any]:
        clock.advance(timedelta(days=move.days, hours=move.hours, minutes=move.minutes))
        fired = engine.tick()
        return {"now": clock.now().isoformat(), "fired": len(fired)}


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path == "/api"


def _add_errors(app: FastAPI) -> None:
    async def procflow_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ProcflowError)  # noqa: S101 - registered for it
        body = problem(exc, prefix="data." if _is_api(request) else "")
        if _is_api(request):
            return problem_response(body)
        site = site_of(request)
        html = site.render("error.html", request=request, user=None, csrf="", messages=[],
                           message=explain(exc, "zh"))  # fmt: skip
        return HTMLResponse(html, status_code=body.status)

    async def invalid_request(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)  # noqa: S101
        return problem_response(from_validation(exc.errors()))

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)  # noqa: S101
        if _is_api(request):
            body = Problem(
                type="about:blank",
                title=str(exc.detail),
                status=exc.status_code,
                detail=str(exc.detail),
            )
            return problem_response(body)
        return HTMLResponse(
            f"<!doctype html><meta charset=utf-8><title>{exc.status_code}</title>"
            f'<p>{exc.status_code}. <a href="/">procflow</a></p>',
            status_code=exc.status_code,
        )

    async def sign_in_first(request: Request, exc: Exception) -> Response:
        return RedirectResponse("/signin", status_code=303)

    async def unauthenticated(request: Request, exc: Exception) -> Response:
        body = Problem(
            type="https://procflow.dev/problems/unauthenticated",
            title="No user",
            status=401,
            detail="name the user: the sign-in of this server says how",
        )
        return problem_response(body)

    async def too_large(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, BodyTooLarge)  # noqa: S101
        return _too_large(request.url.path, exc.limit)

    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("procflow serve: unexpected error on %s", request.url.path)
        body = Problem(
            type="https://procflow.dev/problems/bug",
            title="Unexpected error",
            status=500,
            detail="an unexpected error; it is logged: please report it",
        )
        return problem_response(body)

    handlers: list[tuple[type[Exception], Callable[[Request, Exception], Awaitable[Response]]]] = [
        (ProcflowError, procflow_error),
        (RequestValidationError, invalid_request),
        (StarletteHTTPException, http_error),
        (pages.SignInFirst, sign_in_first),
        (api.Unauthenticated, unauthenticated),
        (BodyTooLarge, too_large),
        (Exception, unexpected),
    ]
    for kind, handler in handlers:
        app.add_exception_handler(kind, handler)


def _openapi(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document, with every error answer a problem detail."""
    if app.openapi_schema is not None:
        return app.openapi_schema
    doc = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
    )
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"] = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(schemas["Problem"].pop("$defs", {}))
    ref = {"$ref": "#/components/schemas/Problem"}
    for path in doc.get("paths", {}).values():
        for operation in path.values():
            for status, answer in operation.get("responses", {}).items():
                if status.startswith(("4", "5")):
                    answer["content"] = {PROBLEM_TYPE: {"schema": ref}}
    doc["components"]["schemas"].pop("HTTPValidationError", None)
    doc["components"]["schemas"].pop("ValidationError", None)
    app.openapi_schema = doc
    return doc
