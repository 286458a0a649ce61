"""What every Python adapter hands the core and answers for a refusal, in one place so they agree.

An adapter reads its framework's request into `Seen` (every ``Authorization`` line, every
``DPoP`` line, the values of the trusted proxy's client-certificate header when the config names
one, the method and the absolute URL), calls `decide` or `decide_async` with the route's scopes,
and answers a `BearerGuardError` with `refusal`: the error's status, ``Cache-Control: no-store``,
the RFC 6750 ``WWW-Authenticate`` value when the error has one, ``DPoP-Nonce`` when the error
carries a nonce, and the body ``{"error": code}`` (the stable code only, never the detail). On
success it sets `success_headers` on its response (``DPoP-Nonce``, when the validator has DPoP
nonces on: RFC 9449 §8.2). It parses nothing and decides nothing.

Server-side failures are logged here: ``configuration`` and ``internal`` (500) at error level,
``unavailable`` (503) as a warning, refusals of the client's request at debug level. The logged
detail is the core's fixed text, which never holds a token or a secret.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar, overload
from urllib.parse import quote

from bearerguard._native import RESOURCE_METADATA_CACHE_CONTROL, TokenInfo, Validator
from bearerguard.errors import BearerGuardError

logger = logging.getLogger("bearerguard")

View = TypeVar("View", bound=Callable[..., Any])
AsgiSend = Callable[[MutableMapping[str, Any]], Awaitable[None]]


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
    #: Every ``DPoP`` line (RFC 9449 proofs; the core refuses two).
    dpop: Sequence[str] = field(default_factory=tuple)
    #: Every value of the trusted proxy's client-certificate header (`certificate_lines`).
    certificate: Sequence[str] = field(default_factory=tuple)

    def __repr__(self) -> str:
        return (
            f"Seen(method={self.method!r}, authorization=[{len(self.authorization)} value(s)], "
            f"dpop=[{len(self.dpop)} value(s)], certificate=[{len(self.certificate)} value(s)])"
        )

    def headers(self, validator: Validator) -> list[tuple[str, str]] | None:
        """The certificate header's values as the core's ``headers``, under `validator`'s name."""
        name = validator.client_certificate_header
        return [(name, value) for value in self.certificate] if name is not None and self.certificate else None


def certificate_lines(validator: Validator | None, lines: Callable[[str], Iterable[str]]) -> list[str]:
    """Every value of the client-certificate header `validator` trusts (none without a
    validator, or when its config names no ``client_certificate_header``); `lines` gives a
    header's values by its lower-case name."""
    name = validator.client_certificate_header if validator is not None else None
    return list(lines(name)) if name is not None else []


def decide(validator: Validator, seen: Seen, scopes: Iterable[str]) -> TokenInfo:
    """The core's decision, on this thread (the GIL is released while it waits); refusals are
    logged, then raised."""
    try:
        return validator.validate_request(
            seen.authorization,
            list(scopes),
            method=seen.method,
            url=seen.url,
            dpop=seen.dpop,
            headers=seen.headers(validator),
        )
    except BearerGuardError as e:
        log_refusal(e)
        raise


async def decide_async(validator: Validator, seen: Seen, scopes: Iterable[str]) -> TokenInfo:
    """The core's decision, without blocking the event loop; refusals are logged, then raised."""
    try:
        return await validator.validate_request_async(
            seen.authorization,
            list(scopes),
            method=seen.method,
            url=seen.url,
            dpop=seen.dpop,
            headers=seen.headers(validator),
        )
    except BearerGuardError as e:
        log_refusal(e)
        raise


def success_headers(info: TokenInfo) -> dict[str, str]:
    """The headers an accepted request's response carries: ``DPoP-Nonce`` when the validator
    has DPoP nonces on (the client's next proof carries it), else none."""
    return {"DPoP-Nonce": info.dpop_nonce} if info.dpop_nonce is not None else {}


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
    if error.dpop_nonce is not None:
        headers["DPoP-Nonce"] = error.dpop_nonce
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


def asgi_seen(scope: Mapping[str, Any], validator: Validator | None = None) -> Seen:
    """An ASGI HTTP scope as the core sees it: every ``Authorization`` and ``DPoP`` line, every
    value of the client-certificate header `validator` trusts, the method, and the URL the
    client used (scheme, ``Host`` or the server address, root path, path, query), as
    Starlette's ``request.url`` rebuilds it."""
    authorization: list[str] = []
    dpop: list[str] = []
    certificate: list[str] = []
    trusted = validator.client_certificate_header if validator is not None else None
    certificate_name = trusted.encode("latin-1") if trusted is not None else None
    host = None
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            authorization.append(value.decode("latin-1"))
        elif name == b"dpop":
            dpop.append(value.decode("latin-1"))
        elif name == certificate_name:
            certificate.append(value.decode("latin-1"))
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
    method = str(scope.get("method", "GET"))
    return Seen(authorization, method=method, url=url, dpop=dpop, certificate=certificate)


def asgi_send_with(send: AsgiSend, headers: Mapping[str, str]) -> AsgiSend:
    """`send`, adding `headers` to the ``http.response.start`` message (`send` itself when
    there are none)."""
    if not headers:
        return send
    raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]

    async def sending(message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", ()), *raw]}
        await send(message)

    return sending
