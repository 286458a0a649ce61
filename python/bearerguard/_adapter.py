"""What every Python adapter hands the core and answers for a refusal, in one place so they agree.

An adapter reads its framework's request into `Seen` (every ``Authorization`` line, every
``DPoP`` line, the method and the URL), calls `decide` or `decide_async` with the route's scopes,
and answers a `BearerGuardError` with `refusal`: the error's status, ``Cache-Control: no-store``,
the RFC 6750 ``WWW-Authenticate`` value when the error has one, and the body ``{"error": code}``
(the stable code only, never the detail). It parses nothing and decides nothing.

Server-side failures are logged here: ``configuration`` and ``internal`` (500) at error level,
``unavailable`` (503) as a warning, refusals of the client's request at debug level. The logged
detail is the core's fixed text, which never holds a token or a secret.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar, overload
from urllib.parse import quote

from bearerguard._native import RESOURCE_METADATA_CACHE_CONTROL, TokenInfo, Validator
from bearerguard.errors import BearerGuardError

logger = logging.getLogger("bearerguard")

View = TypeVar("View", bound=Callable[..., Any])


class ScopedDecorator:
    """``@auth`` or ``@auth("scope", ...)`` over a view: the decorator syntax the Flask and Django
    adapters share; each says in ``_protect`` how its framework's view is wrapped."""

    def __init__(self, validator: Validator) -> None:
        self.validator = validator

    @overload
    def __call__(self, view: View, /) -> View: ...
    @overload
    def __call__(self, *scopes: str) -> Callable[[View], View]: ...
    def __call__(self, *args: Any) -> Any:
        if len(args) == 1 and callable(args[0]):
            return self._protect(args[0], ())
        return lambda view: self._protect(view, args)

    def _protect(self, view: View, scopes: tuple[str, ...]) -> View:
        raise NotImplementedError


@dataclass(frozen=True, repr=False)
class Seen:
    """What the core gets of one request. ``repr`` shows no header value (they hold tokens)."""

    authorization: Sequence[str]
    method: str | None = None
    url: str | None = None
    #: Every ``DPoP`` line; handed to the core once the binding takes them (the DPoP issue).
    dpop: Sequence[str] = field(default_factory=tuple)

    def __repr__(self) -> str:
        return f"Seen(method={self.method!r}, authorization=[{len(self.authorization)} value(s)])"


def decide(validator: Validator, seen: Seen, scopes: Iterable[str]) -> TokenInfo:
    """The core's decision, on this thread (the GIL is released while it waits); refusals are
    logged, then raised."""
    try:
        return validator.validate_request(seen.authorization, list(scopes), method=seen.method, url=seen.url)
    except BearerGuardError as e:
        log_refusal(e)
        raise


async def decide_async(validator: Validator, seen: Seen, scopes: Iterable[str]) -> TokenInfo:
    """The core's decision, without blocking the event loop; refusals are logged, then raised."""
    try:
        return await validator.validate_request_async(
            seen.authorization, list(scopes), method=seen.method, url=seen.url
        )
    except BearerGuardError as e:
        log_refusal(e)
        raise


def merge_scopes(*groups: Iterable[str]) -> list[str]:
    """The scopes of every group, in order, each once."""
    merged: list[str] = []
    for group in groups:
        merged.extend(s for s in group if s not in merged)
    return merged


def refusal(error: BearerGuardError) -> tuple[int, dict[str, str], dict[str, str]]:
    """The status, headers and JSON body that answer `error`."""
    headers = {"Cache-Control": "no-store"}
    if error.www_authenticate:
        headers["WWW-Authenticate"] = error.www_authenticate
    return error.status_code, headers, {"error": error.code}


def log_refusal(error: BearerGuardError) -> None:
    """Logs `error` at the level its kind deserves."""
    if error.status_code == 503:
        logger.warning("authorization server unavailable: %s (%s)", error.code, error.detail)
    elif error.status_code >= 500:
        logger.error("bearerguard cannot decide: %s (%s)", error.code, error.detail)
    else:
        logger.debug("request refused: %s (%s)", error.code, error.detail)


def resource_metadata(validator: Validator) -> tuple[str, str, dict[str, str]]:
    """Where the RFC 9728 metadata document is served, its JSON text and its headers."""
    path, body = validator.resource_metadata_path, validator.resource_metadata_json
    if path is None or body is None:
        raise ValueError("serving the resource metadata needs a validator built with a `resource`")
    headers = {"Cache-Control": RESOURCE_METADATA_CACHE_CONTROL, "Access-Control-Allow-Origin": "*"}
    return path, body, headers


def asgi_seen(scope: Mapping[str, Any]) -> Seen:
    """An ASGI HTTP scope as the core sees it: every ``Authorization`` and ``DPoP`` line, the
    method, and the URL the client used (scheme, ``Host`` or the server address, root path,
    path, query), as Starlette's ``request.url`` rebuilds it."""
    authorization: list[str] = []
    dpop: list[str] = []
    host = None
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            authorization.append(value.decode("latin-1"))
        elif name == b"dpop":
            dpop.append(value.decode("latin-1"))
        elif name == b"host" and host is None:
            host = value.decode("latin-1")
    scheme = str(scope.get("scheme", "http"))
    if host is None:
        server = scope.get("server")
        host = f"{server[0]}:{server[1]}" if isinstance(server, (list, tuple)) else "localhost"
    path, root = str(scope.get("path", "/")), str(scope.get("root_path", ""))
    if root and not path.startswith(root):  # servers differ on whether `path` includes it
        path = root + path
    path = quote(path, safe="/:@!$&'()*+,;=~%-._")
    query = scope.get("query_string", b"")
    url = f"{scheme}://{host}{path}" + (f"?{bytes(query).decode('latin-1')}" if query else "")
    return Seen(authorization, method=str(scope.get("method", "GET")), url=url, dpop=dpop)
