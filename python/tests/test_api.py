"""The Python API on the sync and async paths: construction, TokenInfo, exceptions, pickling,
panics, the GIL, and secrets kept out of reprs, exceptions and logs."""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import pickle
import re
import threading
import time
import typing
from pathlib import Path
from typing import Any

import pytest

import bearerguard
from bearerguard import (
    BearerGuardError,
    ConfigurationError,
    InsufficientScopeError,
    InvalidRequestError,
    InvalidTokenError,
    MissingTokenError,
    TokenExpiredError,
    TokenInfo,
    UnavailableError,
    Validator,
    ValidatorConfig,
    _native,
    errors,
)
from conftest import needs_test_hooks

CANARY = "canary-secret-7f3a91"


def sync_validate(v: Validator, token: str, scopes: Any = None) -> TokenInfo:
    return v.validate(token, scopes)


def async_validate(v: Validator, token: str, scopes: Any = None) -> TokenInfo:
    async def run() -> TokenInfo:
        return await v.validate_async(token, scopes)

    return asyncio.run(run())


both_paths = pytest.mark.parametrize("validate", [sync_validate, async_validate], ids=["sync", "async"])


# ---- construction --------------------------------------------------------------------------


def key_paths(typed: Any, prefix: str = "", within: tuple[Any, ...] = ()) -> set[str]:
    """Every key of a TypedDict, and of the TypedDicts its values may be, dotted. A TypedDict
    inside itself (`issuers`: a list of whole configs) is not walked again: the core lists the
    field (`issuers`), not the fields of its entries."""
    paths = set()
    within = (*within, typed)
    for name, hint in typing.get_type_hints(typed).items():
        paths.add(prefix + name)
        for option in typing.get_args(hint) or (hint,):
            for inner in typing.get_args(option) or (option,):
                if typing.is_typeddict(inner) and inner not in within:
                    paths |= key_paths(inner, f"{prefix}{name}.", within)
    return paths


def test_config_typed_dict_matches_the_core() -> None:
    """`ValidatorConfig` (the type of `Validator(**config)` and `from_config`) names exactly the
    key paths the core's config accepts, nested ones and aliases included."""
    core = _native.config_fields()
    assert len(core) == len(set(core)) and "issuer" in core and "cache.max_ttl_secs" in core
    assert key_paths(ValidatorConfig) == set(core)
    # `audience` may be omitted when `resource` is set (it then defaults to it).
    assert ValidatorConfig.__required_keys__ == {"issuer"}
    assert bearerguard.ValidatorConfig is ValidatorConfig


def test_unknown_keys_are_named() -> None:
    with pytest.raises(ConfigurationError) as info:
        Validator(issuer="https://as.example", audience="api", leway_secs=1)  # type: ignore[call-arg]
    assert "leway_secs" in info.value.detail


def test_nested_and_flat_client_auth_build_the_same_validator(auth_server: Any) -> None:
    c = auth_server.clients["rs_basic"]
    nested: ValidatorConfig = {
        "issuer": auth_server.issuer,
        "audience": list(auth_server.resources.values()),
        "client_auth": {
            "method": "client_secret_basic",
            "client_id": c["client_id"],
            "client_secret": c["client_secret"],
        },
    }
    flat = auth_server.config(client_auth="client_secret_basic")
    token = auth_server.token("opaque", "read")
    for config in (nested, flat):
        assert Validator.from_config(config).validate(token).source == "introspection"
    with pytest.raises(ConfigurationError, match="client_id"):
        Validator(**{**nested, "client_id": c["client_id"]})


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"audience": "api"}, "issuer"),
        ({"issuer": "https://as.example"}, "audience"),
        ({"issuer": "https://as.example", "audience": 5}, "string or a list"),
        ({"issuer": "https://as.example", "audience": "api", "strategy": "magic"}, "`strategy`"),
        ({"issuer": "https://as.example", "audience": "api", "cache": {"max_ttl": 1}}, "max_ttl"),
        ({"issuer": "https://as.example", "audience": "api", "leeway_secs": 10**30}, "leeway_secs"),
        ({"issuer": "https://as.example", "audience": "api", "realm": object()}, "realm"),
        ({"issuer": "http://as.example", "audience": "api"}, "issuer"),
    ],
)
def test_bad_config_raises_at_construction_naming_the_field(config: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigurationError, match=field):
        Validator(**config)
    with pytest.raises(ConfigurationError, match=field):
        Validator.from_config(config)


def test_from_config_and_files(tmp_path: Path) -> None:
    config = {"issuer": "https://as.example", "audience": ["a", "b"], "cache": {"max_ttl_secs": 7}}
    (tmp_path / "c.json").write_text(json.dumps(config))
    (tmp_path / "c.toml").write_text(
        'issuer = "https://as.example"\naudience = ["a", "b"]\n[cache]\nmax_ttl_secs = 7\n'
    )
    for v in (
        Validator(**config),
        Validator.from_config(config),
        Validator.from_file(tmp_path / "c.json"),
        Validator.from_file(str(tmp_path / "c.toml")),
    ):
        assert repr(v) == "Validator(issuer='https://as.example')"
    with pytest.raises(ConfigurationError, match="cannot read"):
        Validator.from_file(tmp_path / "missing.toml")


def test_secrets_stay_out_of_reprs_and_errors(tmp_path: Path) -> None:
    v = Validator(issuer="https://as.example", audience="api", client_id="c", client_secret=CANARY)
    assert CANARY not in repr(v) and CANARY not in str(v)
    with pytest.raises(ConfigurationError) as info:
        Validator(issuer="https://as.example", audience="api", private_key=f"-----BEGIN {CANARY}")
    for text in (str(info.value), repr(info.value), info.value.detail, repr(info.value.__reduce__())):
        assert CANARY not in text


def test_scopes_must_be_an_iterable_of_strings(auth_server: Any) -> None:
    v = Validator(**auth_server.config())
    token = auth_server.token("jwt")
    with pytest.raises(TypeError, match="not a str"):
        v.validate(token, "read")
    with pytest.raises(TypeError):
        v.validate(token, [1])
    assert v.validate(token, ("read",)).subject is not None
    assert v.validate(token, {"read", "write"}).subject is not None
    assert v.validate(token, (s for s in ["read"])).subject is not None


# ---- validation and TokenInfo ----------------------------------------------------------------


@both_paths
def test_jwt_access_token(auth_server: Any, validate: Any) -> None:
    v = Validator(**auth_server.config())
    token = auth_server.token("jwt", "read write")
    info = validate(v, token, ["read"])
    assert isinstance(info, TokenInfo)
    assert info.source == "jwt"
    assert info.client_id == auth_server.clients["svc"]["client_id"]
    assert info.scopes == ("read", "write")
    assert info.audiences == (auth_server.resources["jwt"],)
    assert info.issuer == auth_server.issuer
    assert info.token_type is not None and info.token_type.lower() == "at+jwt"
    assert isinstance(info.expires_at, int) and info.expires_at > time.time()
    assert isinstance(info.issued_at, int) and info.jti
    assert info.claims["iss"] == auth_server.issuer and info.claims["exp"] == info.expires_at
    assert info.has_scopes(["read"]) and not info.has_scopes(["admin"])
    assert token not in repr(info) and repr(info).startswith("TokenInfo(")
    assert v.stats()["jwks_fetches"] == 1 and v.stats()["introspection_requests"] == 0


@both_paths
def test_opaque_token(auth_server: Any, validate: Any) -> None:
    v = Validator(**auth_server.config())
    token = auth_server.token("opaque", "read")
    info = validate(v, token)
    assert info.source == "introspection"
    assert info.scopes == ("read",)
    assert info.claims["active"] is True
    assert info.claims["client_id"] == auth_server.clients["svc"]["client_id"]
    assert token not in repr(info) and token not in str(info.claims)
    validate(v, token, ["read"])
    assert v.stats()["introspection_requests"] == 1  # the second answer came from the cache


def test_validate_header(auth_server: Any) -> None:
    v = Validator(**auth_server.config())
    token = auth_server.token("jwt")
    assert v.validate_header(f"Bearer {token}").source == "jwt"
    assert v.validate_header(f"bearer  {token}", ["read"]).source == "jwt"

    async def run() -> TokenInfo:
        return await v.validate_header_async(f"Bearer {token}", ["read"])

    assert asyncio.run(run()).source == "jwt"


# ---- the request-level API -----------------------------------------------------------------


def sync_request(v: Validator, authorization: Any, scopes: Any = None, **kw: Any) -> TokenInfo:
    return v.validate_request(authorization, scopes, **kw)


def async_request(v: Validator, authorization: Any, scopes: Any = None, **kw: Any) -> TokenInfo:
    async def run() -> TokenInfo:
        return await v.validate_request_async(authorization, scopes, **kw)

    return asyncio.run(run())


@pytest.mark.parametrize("decide", [sync_request, async_request], ids=["sync", "async"])
def test_validate_request_decides_from_every_authorization_line(auth_server: Any, decide: Any) -> None:
    v = Validator(**auth_server.config())
    jwt, opaque = auth_server.token("jwt", "read"), auth_server.token("opaque", "read")
    assert decide(v, [f"Bearer {jwt}"], ["read"], method="GET", url="https://api.example/orders").source == "jwt"
    assert decide(v, (f"Bearer {opaque}",)).source == "introspection"
    with pytest.raises(MissingTokenError):
        decide(v, [])
    with pytest.raises(MissingTokenError):
        decide(v, ["Basic dXNlcjpwdw=="])
    for two in (
        [f"Bearer {jwt}", f"Bearer {opaque}"],
        [f"Bearer {jwt}", f"Bearer {jwt}"],
        ["Basic x", f"Bearer {jwt}"],
    ):
        with pytest.raises(InvalidRequestError) as info:
            decide(v, two)
        assert jwt not in str(info.value) and jwt not in repr(info.value)
        assert info.value.www_authenticate and 'error="invalid_request"' in info.value.www_authenticate
    with pytest.raises(InsufficientScopeError):
        decide(v, [f"Bearer {jwt}"], ["admin"])
    with pytest.raises(TypeError, match="authorization must be an iterable of strings"):
        decide(v, f"Bearer {jwt}")
    with pytest.raises(TypeError):
        decide(v, [f"Bearer {jwt}"], method=1)


def test_validate_header_and_validate_agree_with_validate_request(auth_server: Any) -> None:
    v = Validator(**auth_server.config(realm="api"))
    token = auth_server.token("jwt", "read")
    for authorization in (None, "Basic x", "Bearer a b", "Bearer not-a-real-token", f"Bearer {token}"):
        lines = [] if authorization is None else [authorization]
        answers = []
        for call, arg in ((v.validate_header, authorization), (v.validate_request, lines)):
            try:
                answers.append(("ok", call(arg, ["read"]).subject))  # type: ignore[operator]
            except BearerGuardError as e:
                answers.append((type(e).__name__, e.www_authenticate))
        assert answers[0] == answers[1], authorization


def test_stats_count_each_decision_once(auth_server: Any) -> None:
    v = Validator(**auth_server.config())
    token = auth_server.token("opaque", "read")
    v.validate(token)  # a cache miss: decided once, not checked first and decided again
    v.validate(token)
    with pytest.raises(InsufficientScopeError):
        v.validate(token, ["admin"])
    with pytest.raises(InvalidRequestError):
        v.validate_request([f"Bearer {token}", f"Bearer {token}"])

    async def run() -> None:
        await v.validate_async(token)
        with pytest.raises(MissingTokenError):
            await v.validate_header_async(None)

    asyncio.run(run())
    stats = v.stats()
    assert (stats["accepted"], stats["refused"], stats["introspection_requests"]) == (3, 3, 1), stats


# ---- test hooks ------------------------------------------------------------------------------


def test_test_hooks_exist_only_with_the_feature() -> None:
    """A release wheel (`maturin build`, no `test-hooks` feature) has no test entry points."""
    enabled = _native.test_hooks_enabled()
    assert hasattr(Validator, "_with_fixed_clock") is enabled
    assert hasattr(Validator, "_panic_for_tests") is enabled


@needs_test_hooks
@pytest.mark.parametrize("now", [float("inf"), float("-inf"), float("nan"), -1.0, 1e300])
def test_fixed_clock_refuses_impossible_times(now: float) -> None:
    config = {"issuer": "https://as.example", "audience": "api"}
    with pytest.raises(ValueError, match="finite, non-negative"):
        Validator._with_fixed_clock(config, now)  # type: ignore[attr-defined]
    assert repr(Validator._with_fixed_clock(config, 1.8e9)) == "Validator(issuer='https://as.example')"  # type: ignore[attr-defined]


# ---- exceptions --------------------------------------------------------------------------------


def refusals(auth_server: Any, expired_jwt: str) -> list[tuple[type[BearerGuardError], Any]]:
    good = Validator(**auth_server.config(leeway_secs=0))
    down = Validator(issuer="http://127.0.0.1:9", audience="api", http={"connect_timeout_ms": 200, "retry": False})
    wrong_secret = Validator(**auth_server.config(client_secret="wrong"))
    opaque = auth_server.token("opaque", "read")
    return [
        (MissingTokenError, lambda: good.validate_header(None)),
        (MissingTokenError, lambda: good.validate_header("Basic dXNlcjpwdw==")),
        (InvalidRequestError, lambda: good.validate_header("Bearer a b")),
        (InvalidTokenError, lambda: good.validate("not-a-real-token")),
        (TokenExpiredError, lambda: good.validate(expired_jwt)),
        (InsufficientScopeError, lambda: good.validate(opaque, ["admin"])),
        (UnavailableError, lambda: down.validate("abc")),
        (ConfigurationError, lambda: wrong_secret.validate(opaque)),
    ]


EXPECTED = {
    MissingTokenError: ("missing_token", 401, r"^Bearer$"),
    InvalidRequestError: ("invalid_request", 400, r'error="invalid_request"'),
    InvalidTokenError: ("invalid_token", 401, r'error="invalid_token"'),
    TokenExpiredError: ("token_expired", 401, r'error="invalid_token"'),
    InsufficientScopeError: ("insufficient_scope", 403, r'error="insufficient_scope".*scope="admin"'),
    UnavailableError: ("unavailable", 503, None),
    ConfigurationError: ("configuration", 500, None),
}


def test_every_code_raises_its_class_with_attributes(auth_server: Any, expired_jwt: str) -> None:
    for cls, call in refusals(auth_server, expired_jwt):
        with pytest.raises(BearerGuardError) as info:
            call()
        e = info.value
        code, status, www = EXPECTED[cls]
        assert type(e) is cls, (cls, e)
        assert (e.code, e.status_code) == (code, status) == (cls.code, cls.status_code)
        if www is None:
            assert e.www_authenticate is None
        else:
            assert e.www_authenticate and re.search(www, e.www_authenticate), e.www_authenticate
        assert str(e).startswith(f"{code}: ") and e.detail
        clone = pickle.loads(pickle.dumps(e))
        assert type(clone) is cls
        assert (clone.code, clone.status_code, clone.www_authenticate, clone.detail, clone.required_scopes) == (
            e.code,
            e.status_code,
            e.www_authenticate,
            e.detail,
            e.required_scopes,
        )
        assert str(clone) == str(e)
    assert issubclass(TokenExpiredError, InvalidTokenError)


def test_async_path_raises_the_same_classes(auth_server: Any, expired_jwt: str) -> None:
    v = Validator(**auth_server.config(leeway_secs=0))
    opaque = auth_server.token("opaque", "read")

    async def code_of(coro: Any) -> type[BaseException]:
        try:
            await coro
        except BearerGuardError as e:
            return type(e)
        raise AssertionError("no error")

    async def run() -> list[type[BaseException]]:
        return [
            await code_of(v.validate_header_async(None)),
            await code_of(v.validate_header_async("Bearer a b")),
            await code_of(v.validate_async("not-a-real-token")),
            await code_of(v.validate_async(expired_jwt)),
            await code_of(v.validate_async(opaque, ["admin"])),
        ]

    assert asyncio.run(run()) == [
        MissingTokenError,
        InvalidRequestError,
        InvalidTokenError,
        TokenExpiredError,
        InsufficientScopeError,
    ]


def test_answers_known_at_once_behave_like_futures(auth_server: Any, expired_jwt: str) -> None:
    """A cached verdict or a cheap refusal comes back already finished; it still works with
    gather, wait_for and shield, and awaiting it again gives the same answer."""
    v = Validator(**auth_server.config(leeway_secs=0))
    opaque = auth_server.token("opaque", "read")
    v.validate(opaque)  # cached from here on

    async def run() -> None:
        ready = v.validate_async(opaque)
        first, again = await ready, await ready
        assert first.subject == again.subject and first.source == "introspection"
        gathered = await asyncio.gather(v.validate_async(opaque), v.validate_async(expired_jwt), return_exceptions=True)
        assert gathered[0].scopes == ("read",) and isinstance(gathered[1], TokenExpiredError)
        assert (await asyncio.wait_for(v.validate_async(opaque), 1)).scopes == ("read",)
        assert (await asyncio.shield(v.validate_async(opaque))).scopes == ("read",)
        refused = v.validate_async(expired_jwt)
        for _ in range(2):
            with pytest.raises(TokenExpiredError):
                await refused

    asyncio.run(run())
    assert v.stats()["introspection_requests"] == 1


def test_insufficient_scope_names_the_required_scopes(auth_server: Any) -> None:
    v = Validator(**auth_server.config(realm="orders"))
    with pytest.raises(InsufficientScopeError) as info:
        v.validate(auth_server.token("jwt", "read"), ["read", "admin"])
    assert info.value.required_scopes == ("read", "admin")
    assert info.value.www_authenticate == (
        'Bearer realm="orders", error="insufficient_scope", error_description="The request requires higher '
        'privileges than provided by the access token", scope="read admin"'
    )


def test_exceptions_can_be_built_and_pickled_by_hand() -> None:
    e = InsufficientScopeError("lacks a scope", required_scopes=["x"])
    assert (e.code, e.status_code, e.required_scopes) == ("insufficient_scope", 403, ("x",))
    assert pickle.loads(pickle.dumps(e)).required_scopes == ("x",)
    assert BearerGuardError().code == "internal"


def test_dpop_errors_carry_their_nonce_through_pickle() -> None:
    e = errors.UseDpopNonceError("needs a nonce", "use_dpop_nonce", 401, 'DPoP error="use_dpop_nonce"', (), "n0nce")
    assert (e.code, e.status_code, e.dpop_nonce) == ("use_dpop_nonce", 401, "n0nce")
    clone = pickle.loads(pickle.dumps(e))
    assert (type(clone), clone.dpop_nonce, clone.www_authenticate) == (
        errors.UseDpopNonceError,
        "n0nce",
        e.www_authenticate,
    )
    assert errors.InvalidDpopProofError().dpop_nonce is None


def test_validate_request_takes_dpop_lines_a_certificate_and_headers() -> None:
    v = Validator(issuer="https://issuer.example", audience="https://api.example", sender_constraint="allow",
                  jwks_uri="https://issuer.example/jwks", discovery=False)  # fmt: skip
    assert v.client_certificate_header is None
    with pytest.raises(errors.InvalidDpopProofError) as info:
        v.validate_request(["DPoP abc"], method="GET", url="https://api.example/x", dpop=["a", "b"])
    assert info.value.status_code == 401 and 'DPoP error="invalid_dpop_proof"' in (info.value.www_authenticate or "")
    with pytest.raises(TypeError):
        v.validate_request(["DPoP abc"], dpop="one string")
    with pytest.raises(errors.MissingTokenError):
        v.validate_request([], client_certificate=b"der", headers={"client-cert": ":ZGVy:"})
    with pytest.raises((TypeError, ValueError)):
        v.validate_request([], headers=[("only-a-name",)])


def test_error_classes_cover_the_core_kinds() -> None:
    """Every core error code is raised as a class of its own, named by the binding's one match;
    a code the core adds without a class here would arrive as the bare base class and fail."""
    codes = _native.error_codes()
    assert len(codes) == len(set(codes)) and "invalid_token" in codes
    classes = {code: getattr(errors, _native.error_class(code)) for code in codes}
    for code, cls in classes.items():
        assert cls is not BearerGuardError and issubclass(cls, BearerGuardError), code
        assert cls.code == code and cls.status_code in (400, 401, 403, 500, 503), code
    public = {getattr(errors, name) for name in errors.__all__} - {BearerGuardError}
    assert set(classes.values()) == public, "a class of bearerguard.errors is no core error code"
    with pytest.raises(ValueError, match="not an error code"):
        _native.error_class("internal")


def test_errors_carry_the_core_cause(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as info:
        Validator.from_file(tmp_path / "missing.json")
    assert isinstance(info.value.__cause__, FileNotFoundError)
    down = Validator(
        issuer="http://127.0.0.1:9",
        audience="api",
        client_id="c",
        client_secret=CANARY,
        http={"connect_timeout_ms": 200, "retry": False},
    )
    token = "opaque-" + CANARY
    with pytest.raises(UnavailableError) as refused:
        down.validate(token)
    chain, cause = [], refused.value.__cause__
    while cause is not None:
        chain.append(cause)
        cause = cause.__cause__
    # discovery: cannot connect -> reqwest -> hyper -> the OS's connection refused
    assert chain and all(isinstance(c, (RuntimeError, OSError)) for c in chain), chain
    assert isinstance(chain[-1], ConnectionRefusedError), chain
    assert refused.value.__suppress_context__
    for c in chain:
        assert CANARY not in str(c) and "well-known" not in str(c), str(c)


@needs_test_hooks
@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
def test_a_rust_panic_becomes_bearerguard_error(asynchronous: bool) -> None:
    v = Validator(issuer="https://as.example", audience="api")

    async def run() -> Any:
        return await v._panic_for_tests(True)  # type: ignore[attr-defined]

    with pytest.raises(BearerGuardError) as info:
        asyncio.run(run()) if asynchronous else v._panic_for_tests(False)  # type: ignore[attr-defined]
    assert type(info.value) is BearerGuardError
    assert (info.value.code, info.value.status_code) == ("internal", 500)


def test_tokens_stay_out_of_exceptions_and_logs(auth_server: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    v = Validator(**auth_server.config())
    forged = auth_server.token("jwt")[:-8] + "AAAAAAAA"
    tokens = [forged, "opaque" + CANARY, auth_server.token("opaque", "read")]
    for token in tokens:
        for scopes in ([], ["admin"]):
            try:
                v.validate(token, scopes)
            except BearerGuardError as e:
                for text in (str(e), repr(e), e.detail, str(e.www_authenticate), str(e.__reduce__())):
                    assert token not in text and CANARY not in text
    for token in tokens:
        assert token not in caplog.text


# ---- the GIL and the event loop --------------------------------------------------------------


def slow_introspection(canned: Any, delay: float) -> dict[str, Any]:
    canned.route(
        "/introspect",
        {
            "active": True,
            "sub": "alice",
            "iss": canned.url,
            "aud": "api",
            "exp": int(time.time()) + 60,
            "scope": "read",
        },
        delay=delay,
    )
    return {
        "issuer": canned.url,
        "audience": "api",
        "discovery": False,
        "strategy": "introspection",
        "introspection_endpoint": canned.url + "/introspect",
        "client_id": "c",
        "client_secret": "s",
    }


def test_sync_validate_releases_the_gil(canned: Any) -> None:
    v = Validator(**slow_introspection(canned, 0.5))
    counter = [0]
    stop = threading.Event()

    def spin() -> None:
        while not stop.is_set():
            counter[0] += 1

    t = threading.Thread(target=spin)
    t.start()
    try:
        time.sleep(0.05)
        before = counter[0]
        assert v.validate("opaque-token-1").subject == "alice"
        during = counter[0] - before
    finally:
        stop.set()
        t.join()
    assert during > 10_000, during


def test_validate_async_does_not_block_the_event_loop(canned: Any) -> None:
    v = Validator(**slow_introspection(canned, 0.5))

    async def run() -> tuple[int, TokenInfo]:
        ticks = 0
        task = asyncio.ensure_future(v.validate_async("opaque-token-2"))
        while not task.done():
            await asyncio.sleep(0.001)
            ticks += 1
        return ticks, task.result()

    ticks, info = asyncio.run(run())
    assert info.subject == "alice"
    assert ticks > 100, ticks


def test_validate_async_can_be_cancelled(canned: Any) -> None:
    v = Validator(**slow_introspection(canned, 0.3))

    async def run() -> TokenInfo:
        task = asyncio.ensure_future(v.validate_async("opaque-token-3"))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return await v.validate_async("opaque-token-3")

    assert asyncio.run(run()).subject == "alice"


def test_signatures_are_introspectable() -> None:
    assert list(inspect.signature(Validator.validate).parameters) == ["self", "token", "scopes"]
    request = inspect.signature(Validator.validate_request).parameters
    assert list(request) == [
        "self",
        "authorization",
        "scopes",
        "method",
        "url",
        "dpop",
        "client_certificate",
        "headers",
        "tenant",
    ]
    for keyword in ("method", "url", "dpop", "client_certificate", "headers", "tenant"):
        assert request[keyword].kind is inspect.Parameter.KEYWORD_ONLY, keyword
