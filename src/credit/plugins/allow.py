"""`OPTIONS` answers `Allow` with every method of its path.

Litestar builds a path's OPTIONS handler with the first route registered for it; when a
second method joins the path later (`GET` and `PATCH /api/customers/{id}`), that handler
keeps answering the first route's methods. Each route, as registered, gets an OPTIONS answer
built from its own methods.
"""

from __future__ import annotations

from litestar import MediaType, Response
from litestar.plugins import ReceiveRoutePlugin
from litestar.routes import BaseRoute, HTTPRoute
from litestar.status_codes import HTTP_204_NO_CONTENT
from litestar.types import Scope


class AllowPlugin(ReceiveRoutePlugin):
    def receive_route(self, route: BaseRoute) -> None:
        if not isinstance(route, HTTPRoute):
            return
        allow = ", ".join(sorted(route.methods))
        for handler in route.route_handlers:
            if handler.http_methods == {"OPTIONS"} and handler.handler_name == "options_handler":

                def options_handler(scope: Scope) -> Response[None]:
                    return Response(
                        content=None,
                        status_code=HTTP_204_NO_CONTENT,
                        headers={"Allow": allow},
                        media_type=MediaType.TEXT,
                    )

                handler._fn = options_handler  # type: ignore[assignment]
