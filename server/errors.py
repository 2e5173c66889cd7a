"""Every error a client can cause becomes a 4xx with a one-line JSON body {"error": "..."}: the same message
the CLI prints after "error: ". Anything else is a bug: a 500 whose body says only that (details in the log)."""
from __future__ import annotations

import json
import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect

from memory_store.errors import NotFoundError, UserError

log = logging.getLogger("agentcl.server")


def one_line(message: object) -> str:
    return " ".join(str(message).split())


def error_response(status: int, message: object, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"error": one_line(message)}, status_code=status, headers=headers)


def error_body(message: object) -> bytes:
    return json.dumps({"error": one_line(message)}).encode()


class Forbidden(Exception):
    """A key used on a namespace it may not touch."""


class Unauthorized(Exception):
    """A request that reached a namespace without a key and without loopback trust."""


def validation_message(exc: RequestValidationError) -> str:
    """Pydantic's first complaint, as `where: what` (the rejected value is the client's own data)."""
    errors = exc.errors()
    if not errors:
        return "invalid request"
    first = errors[0]
    where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("body",)) or "body"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where}: {first.get('msg', 'invalid')}{more}"


def _answer_with(status: int):
    async def handler(_: Request, exc: Exception):
        return error_response(status, exc)
    return handler


def install(app: FastAPI) -> None:
    from server.jobs import Busy

    # Starlette picks the handler by the exception's class hierarchy, so the order here does not matter.
    for error_class, status in ((NotFoundError, 404), (Busy, 409), (UserError, 400), (Forbidden, 403)):
        app.add_exception_handler(error_class, _answer_with(status))

    @app.exception_handler(ClientDisconnect)
    async def _gone(request: Request, _: ClientDisconnect):
        # The client left mid-body, or the body bound cut it off (it already has its 413): nobody to answer.
        log.info("%s %s: the request body ended early (client gone or over the bound)", request.method,
                 request.url.path)
        return error_response(400, "the request body ended early")

    @app.exception_handler(Unauthorized)
    async def _unauthorized(_: Request, exc: Unauthorized):
        return error_response(401, exc, {"WWW-Authenticate": "Bearer"})

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError):
        return error_response(422, validation_message(exc))

    @app.exception_handler(HTTPException)
    async def _http(_: Request, exc: HTTPException):
        return error_response(exc.status_code, exc.detail, getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(500, "internal server error (logged on the server)")
