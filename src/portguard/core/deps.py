"""FastAPI dependencies every domain router shares, as `Annotated` aliases.

`DbSession` is one transaction per request, committed before the response is sent (so an audit entry that could
not be written fails the request instead of being lost). `CurrentPrincipal` asks the authenticator that the app
factory put on `app.state` — core does not know how users are stored, the sharing domain does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated, Any

from fastapi import Depends, Header, Query, Request
from sqlalchemy.orm import Session

from portguard.core.errors import Forbidden, Unauthenticated
from portguard.core.policy import Principal


def get_db(request: Request) -> Iterator[Session]:
    """A session in one transaction for this request."""
    with request.app.state.db.session() as session:
        yield session


DbSession = Annotated[Session, Depends(get_db, scope="function")]


async def get_principal(request: Request, session: DbSession) -> Principal:
    """The authenticated principal, or 401."""
    principal = await request.app.state.authenticate(request, session)
    if principal is None:
        raise Unauthenticated("sign in, or send 'Authorization: Bearer <token>'")
    request.state.principal = principal
    return principal


CurrentPrincipal = Annotated[Principal, Depends(get_principal, scope="function")]


def require(permission: str) -> Callable[[Principal], Principal]:
    """A dependency that lets the request through only when a role of the user grants `permission`."""

    def check(principal: CurrentPrincipal) -> Principal:
        if not principal.has(permission):
            raise Forbidden(f"no role of {principal.username} grants {permission}", permission=permission)
        return principal

    check.__name__ = f"require_{permission.replace(':', '_')}"
    return check


def justification_header(
    x_justification: Annotated[str | None, Header(max_length=1000)] = None,
) -> str | None:
    """The reason for consulting LED records, sent as `X-Justification`."""
    return x_justification.strip() if x_justification and x_justification.strip() else None


Justification = Annotated[str | None, Depends(justification_header)]


class PageParams:
    """`limit` and `offset` query parameters shared by every list."""

    def __init__(
        self,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    ) -> None:
        self.limit = limit
        self.offset = offset

    def page(self, items: list[Any], total: int) -> dict[str, Any]:
        """The list answer every paginated route returns: items, total, and this page's limit and offset."""
        return {"items": items, "total": total, "limit": self.limit, "offset": self.offset}


Paging = Annotated[PageParams, Depends()]
