"""Who is at the console: the officer signed in with an API key, or everyone on an open service.

With `AUTH_REQUIRED=true` an officer signs in with an API key, checked as the API checks it
(`ApiKeyService.find_active`: active, not revoked). The key is kept in the console's session
cookie (sealed with `CONSOLE_SECRET`, HttpOnly, SameSite=Strict, path /console) with the time
it was presented; each request checks it again, so a revoked key signs its officer out at
once, and a sign-in ends after `CONSOLE_SESSION_HOURS`. A `read` key sees no write controls
(`Officer.can_write`) and its writes are refused (`require_write`) whatever it sends. With
auth off every visitor is the open service's officer, who may write.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from litestar import Request
from litestar.di import NamedDependency
from litestar.exceptions import PermissionDeniedException

from credit.modules.access.service import ApiKeyService
from credit.settings import Settings

SESSION_KEY = "api_key"
SESSION_SINCE = "signed_in_at"


class SignInRequired(Exception):
    """No valid sign-in: the console sends the officer to the sign-in page."""


@dataclass(frozen=True)
class Officer:
    name: str
    scope: str
    # The API key's id (decisions record it); None on an open service.
    key_id: int | None
    open: bool

    @property
    def can_write(self) -> bool:
        return self.scope == "write"

    def require_write(self) -> None:
        if not self.can_write:
            raise PermissionDeniedException(
                detail=f"This API key has {self.scope} scope; this operation needs write."
            )


OPEN_OFFICER = Officer(name="open service", scope="write", key_id=None, open=True)


async def signed_in_officer(
    request: Request[Any, Any, Any],
    settings: NamedDependency[Settings],
    api_keys: NamedDependency[ApiKeyService],
) -> Officer:
    """The officer of this request; SignInRequired when nobody valid is signed in."""
    if not settings.auth_required:
        return OPEN_OFFICER
    session = request.session
    presented = session.get(SESSION_KEY)
    since = session.get(SESSION_SINCE)
    if not isinstance(presented, str) or not isinstance(since, int | float):
        raise SignInRequired
    if time.time() - since > settings.console_session_hours * 3600:
        request.clear_session()
        raise SignInRequired
    principal = await api_keys.find_active(presented)
    if principal is None:
        request.clear_session()
        raise SignInRequired
    return Officer(principal.name, principal.scope, principal.key_id, open=False)


async def sign_in(request: Request[Any, Any, Any], keys: ApiKeyService, presented: str) -> bool:
    """Keep the key in the session if it is active; False (and no session) if not."""
    principal = await keys.find_active(presented.strip())
    if principal is None:
        request.clear_session()
        return False
    request.set_session({SESSION_KEY: presented.strip(), SESSION_SINCE: int(time.time())})
    return True
