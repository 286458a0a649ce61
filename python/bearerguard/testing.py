"""A test kit for the tests of an API protected by bearerguard.

`AuthorizationServer` starts an OAuth 2.0 authorization server in this process, on 127.0.0.1
and a free port (the core's own, in Rust, on a thread of its own): discovery, JWKS, RFC 7662
introspection and RFC 7009 revocation. It mints the tokens a test asks for and hands back a
validator config pointing at itself::

    from bearerguard.testing import AuthorizationServer

    with AuthorizationServer() as server:
        app = create_app(server.config())
        token = server.token(scope="write")           # a JWT, validated locally
        expired = server.expired_token(scope="write")
        opaque = server.opaque_token(scope="write")   # introspected
        server.revoke(opaque)                         # introspection now answers active: false

With pytest, the fixture ``bearerguard_server`` gives a fresh server per test (the plugin
``bearerguard.pytest_plugin`` is registered when bearerguard is installed; without that, add
``pytest_plugins = ["bearerguard.pytest_plugin"]`` to your ``conftest.py``).

Revoking a JWT changes nothing under the default ``auto`` strategy, which validates JWTs
locally, exactly as with a real server; use an opaque token, or ``strategy="introspect_all"``.
A validator reuses an introspection answer for up to ``cache.max_ttl_secs``: revoke a token
before its first use.

`DpopKey` is a client's DPoP key (RFC 9449, ES256): a token minted with
``dpop_jkt=key.thumbprint`` is bound to it, and ``key.proof(method, url, token)`` makes the
``DPoP`` header that goes with each request (``nonce=`` when the API asked for one)::

    key = DpopKey()
    token = server.token(scope="write", dpop_jkt=key.thumbprint)
    headers = {"Authorization": f"DPoP {token}", "DPoP": key.proof("GET", "http://testserver/orders", token)}

For tests only: it signs any token it is asked for. Never point a production validator at it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, TypedDict, cast

from bearerguard._native import DpopKey, _TestAuthorizationServer
from bearerguard.config import ValidatorConfig

__all__ = ["EXPIRED", "AuthorizationServer", "DpopKey", "RequestCounts"]

EXPIRED = -3600
"""The `expires_in` of `expired_token()`: an hour ago, past the validator's default 60 s leeway."""


class RequestCounts(TypedDict):
    """Requests the server answered, per endpoint (refused ones included)."""

    discovery: int
    jwks: int
    introspection: int
    revocation: int


class AuthorizationServer:
    """An in-process authorization server for tests; a context manager that closes it.

    `audience` is the audience its tokens carry and its config accepts (default
    ``"https://api.example.test"``); `client_id` the client its config introspects with.
    """

    def __init__(self, *, audience: str | None = None, client_id: str | None = None) -> None:
        options = {k: v for k, v in (("audience", audience), ("client_id", client_id)) if v is not None}
        self._native = _TestAuthorizationServer(options)

    @property
    def issuer(self) -> str:
        """The issuer identifier, ``http://127.0.0.1:<port>``; the base of every endpoint."""
        return self._native.issuer

    @property
    def audience(self) -> str:
        """The audience its tokens carry by default and its config accepts."""
        return self._native.audience

    @property
    def client_id(self) -> str:
        """The client id allowed to introspect and revoke."""
        return self._native.client_id

    @property
    def client_secret(self) -> str:
        """That client's secret: random, new for every server."""
        return self._native.client_secret

    def config(self, **overrides: Any) -> ValidatorConfig:
        """A validator config pointing at this server (its issuer, audience and client
        credentials; endpoints by discovery), with `overrides` (core keys) on top."""
        config = dict(self._native.config())
        config.update(overrides)
        return cast(ValidatorConfig, config)

    def metadata(self) -> dict[str, Any]:
        """The discovery document it serves."""
        return self._native.metadata()

    def jwks(self) -> dict[str, Any]:
        """The public JWKS it serves."""
        return self._native.jwks()

    def token(
        self,
        *,
        subject: str | None = None,
        scope: str | Sequence[str] | None = None,
        audience: str | Sequence[str] | None = None,
        expires_in: int | None = None,
        issuer: str | None = None,
        client_id: str | None = None,
        algorithm: str | None = None,
        typ: str | None = None,
        dpop_jkt: str | None = None,
        x5t_s256: str | None = None,
        claims: Mapping[str, Any] | None = None,
    ) -> str:
        """A signed JWT access token (header ``typ: at+jwt``).

        `subject` (default ``"test-user"``), `scope` (a space-separated string or a list),
        `audience` (default the server's), `expires_in` seconds from now (default 3600;
        negative is expired, -120 or less past the default leeway), `issuer` (default the
        server's), `client_id` (default ``"test-client"``), `algorithm` (``RS256``, ``ES256``,
        ``EdDSA``), `typ`, `dpop_jkt` (``cnf.jkt``, RFC 9449), `x5t_s256` (``cnf["x5t#S256"]``,
        RFC 8705), and further `claims`, set last (a ``None`` value removes a claim).
        """
        return self._native.jwt(_options(locals()))

    def expired_token(self, **options: Any) -> str:
        """A JWT that expired an hour ago (`token`'s other options apply)."""
        return self.token(**{**options, "expires_in": EXPIRED})

    def opaque_token(
        self,
        *,
        subject: str | None = None,
        scope: str | Sequence[str] | None = None,
        audience: str | Sequence[str] | None = None,
        expires_in: int | None = None,
        issuer: str | None = None,
        client_id: str | None = None,
        dpop_jkt: str | None = None,
        x5t_s256: str | None = None,
        claims: Mapping[str, Any] | None = None,
    ) -> str:
        """An opaque token, which introspection answers with these claims (as in `token`)
        while it is neither expired nor revoked."""
        return self._native.opaque(_options(locals()))

    def revoke(self, token: str) -> bool:
        """Revokes a token it minted (introspection answers ``active: false`` from now on);
        whether it knew the token."""
        return self._native.revoke(token)

    def counts(self) -> RequestCounts:
        """Requests answered so far, per endpoint."""
        return cast(RequestCounts, self._native.counts())

    def close(self) -> None:
        """Stops the server (idempotent)."""
        self._native.close()

    @property
    def closed(self) -> bool:
        """Whether `close` has run."""
        return self._native.closed

    def __enter__(self) -> AuthorizationServer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"AuthorizationServer(issuer={self.issuer!r}, audience={self.audience!r})"


def _options(arguments: dict[str, Any]) -> dict[str, Any]:
    """The core's token options from a method's arguments: the ones given, lists as lists."""
    options: dict[str, Any] = {}
    for name, value in arguments.items():
        if name == "self" or value is None:
            continue
        if name == "claims":
            value = dict(value)
        elif name in ("scope", "audience") and not isinstance(value, str):
            value = list(value)
        options[name] = value
    return options
