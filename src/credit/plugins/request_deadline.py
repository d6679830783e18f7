"""A request's body must arrive within `REQUEST_READ_TIMEOUT_SECONDS` of its first read.

A client that sends a body one byte a second holds a socket and a task for as long as it
likes: uvicorn has no timeout on reading a request (its `--timeout-keep-alive` only covers
idle connections between requests), nor has Litestar. This wraps the ASGI `receive` of every
HTTP request: while the body is incomplete, each read waits at most until the deadline, and a
body still incomplete then is answered 408 (the connection is closed, its body unread). Once
the body is in, `receive` is left alone (it then only reports a disconnect).
"""

from __future__ import annotations

import math

import anyio
from litestar.config.app import AppConfig
from litestar.enums import ScopeType
from litestar.exceptions import HTTPException
from litestar.middleware.base import DefineMiddleware
from litestar.plugins import InitPluginProtocol
from litestar.status_codes import HTTP_408_REQUEST_TIMEOUT
from litestar.types import ASGIApp, Receive, ReceiveMessage, Scope, Send


class RequestReadDeadline:
    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        deadline = math.inf
        complete = False

        async def receive_in_time() -> ReceiveMessage:
            nonlocal deadline, complete
            if complete:
                return await receive()
            if deadline == math.inf:
                deadline = anyio.current_time() + self.seconds
            with anyio.move_on_after(deadline - anyio.current_time()) as waited:
                message = await receive()
            if waited.cancelled_caught:
                raise HTTPException(
                    status_code=HTTP_408_REQUEST_TIMEOUT,
                    detail=f"The request body did not arrive within {self.seconds:g} s.",
                    headers={"Connection": "close"},
                )
            if message["type"] != "http.request" or not message.get("more_body", False):
                complete = True
            return message

        await self.app(scope, receive_in_time, send)


class RequestDeadlinePlugin(InitPluginProtocol):
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        if self.seconds > 0:
            app_config.middleware.append(
                DefineMiddleware(RequestReadDeadline, seconds=self.seconds)
            )
        return app_config
