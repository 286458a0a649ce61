"""Many issuers behind one validator (docs/security.md ISS), through the Python binding: two real
authorization servers (`auth_server`, `auth_server_b`) and the test kit's servers, over HTTP on
127.0.0.1. Routing by `iss` and by tenant key, refusals with zero requests, one issuer's outage,
the resolver (`issuer_resolver=`), `stats_by_issuer`, and one config from a dict, a JSON file
and a TOML file. The Rust side of the same is core/tests/issuers.rs."""

from __future__ import annotations

import asyncio
import json
import statistics
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest

from bearerguard import ConfigurationError, InvalidTokenError, UnavailableError, Validator
from bearerguard.errors import BearerGuardError
from bearerguard.testing import AuthorizationServer
from conftest import AuthServer


def counters(server: AuthServer) -> dict[str, int]:
    """The real server's requests per endpoint so far (`/_test/counters`)."""
    r = httpx.get(server.ready["counters_url"])
    r.raise_for_status()
    return dict(r.json())


def delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {k: after[k] - before[k] for k in after if after[k] != before[k]}


def kit_requests(server: AuthorizationServer) -> int:
    c = server.counts()
    return c["discovery"] + c["jwks"] + c["introspection"]


@pytest.fixture
def kit() -> Iterator[Callable[[], AuthorizationServer]]:
    """Test-kit servers, as many as a test asks for, closed after it."""
    started: list[AuthorizationServer] = []

    def start() -> AuthorizationServer:
        started.append(AuthorizationServer())
        return started[-1]

    yield start
    for server in started:
        server.close()


def two_real(a: AuthServer, b: AuthServer, **top: Any) -> dict[str, Any]:
    """A config of both real servers, each with its own introspection client and tenant key."""
    return {
        "issuers": [a.config("rs_basic", tenant="a.example"), b.config("rs_basic", tenant="b.example")],
        **top,
    }


def awaited(start: Callable[[], Awaitable[Any]]) -> Any:
    """The answer of an awaitable form, started inside a running event loop."""

    async def run() -> Any:
        return await start()

    return asyncio.run(run())


def outcome(call: Callable[[], Any]) -> str:
    """`accepted <subject or client>` or the error code: what a decision comes to."""
    try:
        info = call()
    except BearerGuardError as e:
        return e.code
    return f"accepted {info.issuer} {info.client_id}"


# ---- routing between two real servers ---------------------------------------------------------


def test_jwts_of_each_real_issuer_are_accepted_by_one_validator(
    auth_server: AuthServer, auth_server_b: AuthServer
) -> None:
    a, b = auth_server, auth_server_b
    v = Validator.from_config(two_real(a, b))
    ja, jb = a.token("jwt", "read"), b.token("jwt", "read")
    before = counters(a), counters(b)
    ia, ib = v.validate(ja, ["read"]), v.validate(jb, ["read"])
    assert (ia.issuer, ia.source, ib.issuer, ib.source) == (a.issuer, "jwt", b.issuer, "jwt")
    assert ib.client_id == b.clients["svc"]["client_id"]
    # Each issuer's discovery document and keys from its own server, no introspection.
    assert delta(before[0], counters(a)) == {"discovery": 1, "jwks": 1}
    assert delta(before[1], counters(b)) == {"discovery": 1, "jwks": 1}
    # The awaitable path routes the same way.
    assert awaited(lambda: v.validate_async(jb)).issuer == b.issuer


def test_opaque_tokens_are_introspected_at_their_own_server_by_tenant_key(
    auth_server: AuthServer, auth_server_b: AuthServer
) -> None:
    a, b = auth_server, auth_server_b
    v = Validator.from_config(two_real(a, b))
    oa, ob = a.token("opaque", "read"), b.token("opaque", "read")
    before = counters(a), counters(b)
    ia = v.validate_request([f"Bearer {oa}"], ["read"], tenant="a.example")
    ib = awaited(lambda: v.validate_request_async([f"Bearer {ob}"], ["read"], tenant="b.example"))
    assert (ia.issuer, ia.source) == (a.issuer, "introspection")
    assert (ib.issuer, ib.source) == (b.issuer, "introspection")
    # Accepted means each server took its own resource server's credentials (b's clients are
    # `b-<id>` with their own secrets: a's would be refused there, 401, an outage).
    assert delta(before[0], counters(a)) == {"discovery": 1, "introspection": 1}
    assert delta(before[1], counters(b)) == {"discovery": 1, "introspection": 1}
    # a's token on b's tenant: only b is asked, and b does not know it.
    before = counters(a), counters(b)
    with pytest.raises(InvalidTokenError):
        v.validate_request([f"Bearer {a.token('opaque', 'read')}"], tenant="b.example")
    assert delta(before[0], counters(a)) == {"token": 1}  # the token request of this test only
    assert delta(before[1], counters(b)) == {"introspection": 1}
    # An unknown tenant key, and an opaque token without one: refused, nothing asked.
    before = counters(a), counters(b)
    with pytest.raises(InvalidTokenError) as unknown:
        v.validate_request([f"Bearer {oa}"], tenant="evil.example")
    assert unknown.value.detail == "no issuer serves this request's tenant"
    with pytest.raises(InvalidTokenError):
        v.validate(ob)
    assert (counters(a), counters(b)) == before
    stats = v.stats()
    assert (stats["accepted"], stats["refused"], stats["unrouted"]) == (2, 3, 2)


def test_in_order_routing_reaches_the_server_that_knows_an_opaque_token(
    auth_server: AuthServer, auth_server_b: AuthServer
) -> None:
    a, b = auth_server, auth_server_b
    v = Validator.from_config(two_real(a, b, opaque_routing="in_order"))
    ob = b.token("opaque", "read")
    before = counters(a), counters(b)
    assert v.validate(ob, ["read"]).issuer == b.issuer
    # a first (it does not know the token), then b; each with its own credentials.
    assert delta(before[0], counters(a)) == {"discovery": 1, "introspection": 1}
    assert delta(before[1], counters(b)) == {"discovery": 1, "introspection": 1}
    with pytest.raises(InvalidTokenError):
        v.validate("not-a-token-anyone-issued")
    assert v.stats()["unrouted"] == 0


def test_unlisted_and_forged_issuers_cost_zero_requests(
    auth_server: AuthServer, auth_server_b: AuthServer, kit: Callable[[], AuthorizationServer]
) -> None:
    a, b = auth_server, auth_server_b
    listed, attacker = kit(), kit()
    config = two_real(a, b)
    config["issuers"].append(listed.config())
    v = Validator.from_config(config)
    unlisted = attacker.token()
    # A listed (kit) issuer's key, but an `iss` naming the attacker's server.
    forged = listed.token(issuer=attacker.issuer)
    # A listed real issuer's `iss` with a twist.
    near = listed.token(issuer=f"{a.issuer}/")
    before = counters(a), counters(b)
    for token in (unlisted, forged, near):
        with pytest.raises(InvalidTokenError) as refused:
            v.validate(token)
        assert refused.value.detail == "the token's issuer is not one this API accepts"
        assert refused.value.status_code == 401
    assert (counters(a), counters(b)) == before
    assert (kit_requests(listed), kit_requests(attacker)) == (0, 0)
    stats = v.stats()
    assert (stats["unrouted"], stats["refused"], stats["accepted"]) == (3, 3, 0)
    # Not counted as unrouted: a missing header is refused precisely by the first issuer.
    with pytest.raises(BearerGuardError) as missing:
        v.validate_request([])
    assert missing.value.code == "missing_token"
    assert v.stats()["unrouted"] == 3


def test_one_issuer_stopped_leaves_the_other_unaffected(
    stoppable_auth_server: tuple[AuthServer, Callable[[], None]], auth_server_b: AuthServer
) -> None:
    (a, stop_a), b = stoppable_auth_server, auth_server_b
    v = Validator.from_config(two_real(a, b, http={"connect_timeout_ms": 500, "retry": False}))
    n = 40
    a_tokens = [a.token("opaque", "read") for _ in range(n)]
    b_opaque = [b.token("opaque", "read") for _ in range(n)]
    b_jwts = [b.token("jwt", "read") for _ in range(n)]
    stop_a()

    async def run() -> tuple[list[BaseException | Any], list[float], float]:
        started = time.perf_counter()
        a_calls = [
            asyncio.ensure_future(v.validate_request_async([f"Bearer {t}"], tenant="a.example")) for t in a_tokens
        ]
        latencies = []
        for opaque, jwt in zip(b_opaque, b_jwts, strict=True):
            t0 = time.perf_counter()
            await v.validate_request_async([f"Bearer {opaque}"], ["read"], tenant="b.example")
            await v.validate_async(jwt, ["read"])
            latencies.append(time.perf_counter() - t0)
        a_results = await asyncio.gather(*a_calls, return_exceptions=True)
        return a_results, latencies, time.perf_counter() - started

    a_results, latencies, elapsed = asyncio.run(run())
    assert all(isinstance(r, UnavailableError) for r in a_results), a_results[:3]
    latencies.sort()
    print(
        f"issuer A stopped: {n} of its requests unavailable; issuer B: {n} opaque + {n} JWT decisions, "
        f"p50 {statistics.median(latencies) * 1000:.1f} ms, max {latencies[-1] * 1000:.1f} ms per pair, "
        f"all accepted, in {elapsed * 1000:.0f} ms"
    )
    by = v.stats_by_issuer()
    assert (by[a.issuer]["accepted"], by[a.issuer]["refused"]) == (0, n)
    assert (by[b.issuer]["accepted"], by[b.issuer]["refused"]) == (2 * n, 0)


# ---- the resolver -----------------------------------------------------------------------------


class Tenants:
    """A resolver for tests: approves `approve` (by issuer), declines the rest, counts its calls."""

    def __init__(self, *approve: Mapping[str, Any], delay: float = 0.0) -> None:
        self.approve = {c["issuer"]: c for c in approve}
        self.calls: list[str] = []
        self.delay = delay
        self.lock = threading.Lock()

    def __call__(self, issuer: str) -> Mapping[str, Any] | None:
        with self.lock:
            self.calls.append(issuer)
        time.sleep(self.delay)
        return self.approve.get(issuer)


def test_the_resolver_adds_approved_issuers_once_and_remembers_declines(
    auth_server_b: AuthServer, kit: Callable[[], AuthorizationServer]
) -> None:
    a, c, stranger = kit(), kit(), kit()
    b = auth_server_b
    tenants = Tenants(c.config(), b.config("rs_basic"), delay=0.05)
    v = Validator(issuers=[a.config()], resolver={"max_declined": 100}, issuer_resolver=tenants)
    assert v.resolver_entries() == (0, 0)
    jc = c.token(subject="carl")

    async def many() -> list[Any]:
        return await asyncio.gather(*(v.validate_async(jc) for _ in range(30)))

    # 30 concurrent first calls for a new issuer: the resolver is asked once.
    assert {info.subject for info in asyncio.run(many())} == {"carl"}
    assert tenants.calls == [c.issuer]
    assert c.counts()["jwks"] == 1
    # A real server's issuer approved the same way, its JWT from its own keys.
    before = counters(b)
    assert v.validate(b.token("jwt", "read")).issuer == b.issuer
    assert delta(before, counters(b)) == {"token": 1, "discovery": 1, "jwks": 1}
    assert v.resolver_entries() == (2, 0)
    by = v.stats_by_issuer()
    # The listed issuer first, then the resolved ones (in the resolver's keeping order).
    assert next(iter(by)) == a.issuer and set(by) == {a.issuer, b.issuer, c.issuer}
    assert (by[c.issuer]["accepted"], by[b.issuer]["accepted"], by[a.issuer]["accepted"]) == (30, 1, 0)
    # A declined issuer: asked once, then remembered; its server never asked.
    js = stranger.token()
    for _ in range(3):
        with pytest.raises(InvalidTokenError):
            v.validate(js)
    assert tenants.calls == [c.issuer, b.issuer, stranger.issuer]
    assert kit_requests(stranger) == 0
    assert v.resolver_entries() == (2, 1)
    assert v.stats()["unrouted"] == 3


def test_a_raising_or_lying_resolver_is_a_configuration_error(kit: Callable[[], AuthorizationServer]) -> None:
    a, c = kit(), kit()
    jc = c.token()
    calls = []

    def raising(issuer: str) -> Mapping[str, Any] | None:
        calls.append(issuer)
        raise RuntimeError("tenant db at postgres://admin:hunter2@db down")

    v = Validator.from_config({"issuers": [a.config()]}, issuer_resolver=raising)
    for _ in range(2):
        with pytest.raises(ConfigurationError) as failed:
            v.validate(jc)
        assert (failed.value.code, failed.value.status_code) == ("configuration", 500)
        assert failed.value.detail == "the issuer resolver failed"
        assert "hunter2" not in repr(failed.value) and "hunter2" not in str(failed.value.__cause__)
    assert len(calls) == 2, "a failure is not remembered as a decline"

    with pytest.raises(ConfigurationError):
        awaited(lambda: v.validate_async(jc))

    # Another issuer's config for this one.
    other = Validator(issuers=[a.config()], issuer_resolver=lambda issuer: {**c.config(), "issuer": a.issuer + "/x"})
    with pytest.raises(ConfigurationError, match="another issuer"):
        other.validate(jc)
    # A config naming a field the issuers share, and one with a misspelt field.
    shared = Validator(
        issuers=[a.config()], issuer_resolver=lambda issuer: {**c.config(), "cache": {"max_ttl_secs": 1}}
    )
    with pytest.raises(ConfigurationError, match=r"the resolver's config\.cache"):
        shared.validate(jc)
    typo = Validator(issuers=[a.config()], issuer_resolver=lambda issuer: {**c.config(), "leway_secs": 1})
    with pytest.raises(ConfigurationError, match="the issuer resolver failed"):
        typo.validate(jc)
    assert kit_requests(c) == 0
    # Not a callable: refused when building.
    with pytest.raises(TypeError, match="issuer_resolver"):
        Validator(issuers=[a.config()], issuer_resolver="https://tenants.example")  # type: ignore[arg-type]


def test_the_resolver_survives_a_fork_rebuild(kit: Callable[[], AuthorizationServer]) -> None:
    """The validator built again in a forked child keeps `issuer_resolver`."""
    import os

    a, c = kit(), kit()
    tenants = Tenants(c.config())
    v = Validator(issuers=[a.config()], issuer_resolver=tenants)
    token = c.token(subject="child")
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            answer = v.validate(token).subject or ""
        except BaseException as e:  # noqa: BLE001
            answer = type(e).__name__
        os.write(write, answer.encode())
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    assert os.read(read, 100) == b"child"
    os.close(read)


# ---- stats by issuer --------------------------------------------------------------------------


def test_stats_by_issuer(auth_server: AuthServer, auth_server_b: AuthServer) -> None:
    a, b = auth_server, auth_server_b
    v = Validator.from_config(two_real(a, b))
    v.validate(a.token("jwt", "read"))
    v.validate_request([f"Bearer {a.token('opaque', 'read')}"], tenant="a.example")
    v.validate(b.token("jwt", "read"))
    by = v.stats_by_issuer()
    assert list(by) == [a.issuer, b.issuer]
    assert (by[a.issuer]["accepted"], by[a.issuer]["introspection_requests"], by[a.issuer]["jwks_fetches"]) == (
        2,
        1,
        1,
    )
    assert (by[b.issuer]["accepted"], by[b.issuer]["introspection_requests"]) == (1, 0)
    assert set(by[a.issuer]) == set(v.stats())
    total = v.stats()
    assert (total["accepted"], total["introspection_requests"], total["jwks_fetches"]) == (3, 1, 2)
    # One issuer's validator lists itself.
    single = Validator(**a.config())
    assert list(single.stats_by_issuer()) == [a.issuer]
    assert single.resolver_entries() == (0, 0)


def test_the_api_wide_settings_are_the_first_entrys(kit: Callable[[], AuthorizationServer]) -> None:
    """`resource`, `required_scopes` and `client_certificate_header` of a many-issuer validator
    are the core's API-wide settings (`Validator::api_config`): the first entry's."""
    a, c = kit(), kit()
    first = {**a.config(), "required_scopes": ["read"], "client_certificate_header": "Client-Cert"}
    v = Validator(issuers=[first, c.config()])
    assert (v.required_scopes, v.client_certificate_header) == (["read"], "client-cert")
    assert v.resource is None
    # A protected resource: its metadata names every listed issuer.
    api = "https://api.example.com/orders"
    served = Validator(issuers=[{**a.config(), "resource": api}, {**c.config(), "resource": api}])
    assert served.resource == api
    assert json.loads(served.resource_metadata_json or "{}")["authorization_servers"] == [a.issuer, c.issuer]
    single = Validator(**first)
    assert (single.required_scopes, single.client_certificate_header) == (["read"], "client-cert")


# ---- one config, three sources ----------------------------------------------------------------


def to_toml(table: Mapping[str, Any], prefix: str = "") -> str:
    """Enough TOML for these configs: scalars and lists of scalars, tables, arrays of tables."""
    lines, nested = [], []
    for key, value in table.items():
        if isinstance(value, Mapping) or (
            isinstance(value, list) and value and all(isinstance(item, Mapping) for item in value)
        ):
            nested.append((key, value))
        else:
            lines.append(f"{key} = {json.dumps(value)}")
    text = "".join(f"{line}\n" for line in lines)
    for key, value in nested:
        name = f"{prefix}{key}"
        for item in [value] if isinstance(value, Mapping) else value:
            header = f"[{name}]" if isinstance(value, Mapping) else f"[[{name}]]"
            text += f"{header}\n{to_toml(item, f'{name}.')}"
    return text


def three_sources(config: dict[str, Any], tmp_path: Path, issuer_resolver: Any = None) -> list[Any]:
    """`build(config)` from the dict, a JSON file and a TOML file: validators, or the errors."""
    (tmp_path / "c.json").write_text(json.dumps(config))
    (tmp_path / "c.toml").write_text(to_toml(config))
    builders: list[Callable[[], Validator]] = [
        lambda: Validator.from_config(config, issuer_resolver=issuer_resolver),
        lambda: Validator.from_file(tmp_path / "c.json", issuer_resolver=issuer_resolver),
        lambda: Validator.from_file(str(tmp_path / "c.toml"), issuer_resolver=issuer_resolver),
    ]
    built: list[Any] = []
    for build in builders:
        try:
            built.append(build())
        except ConfigurationError as e:
            built.append(e)
    return built


def test_one_multi_issuer_config_from_a_dict_json_and_toml_decides_the_same(
    auth_server: AuthServer, auth_server_b: AuthServer, kit: Callable[[], AuthorizationServer], tmp_path: Path
) -> None:
    a, b = auth_server, auth_server_b
    k, stranger = kit(), kit()
    config = {
        "cache": {"max_entries": 500},
        "resolver": {"max_issuers": 7},
        "opaque_routing": "tenant",
        "issuers": [
            {**a.config("rs_basic"), "tenant": "a.example"},
            {**b.config("rs_basic"), "tenant": ["b", "b.example"], "required_scopes": ["read"]},
            {**k.config(), "strategy": "jwt"},
        ],
    }
    validators = three_sources(config, tmp_path)
    assert all(isinstance(v, Validator) for v in validators), validators
    tokens = {
        "a jwt": a.token("jwt", "read"),
        "b jwt": b.token("jwt", "read"),
        "b jwt without read": b.token("jwt", "write"),
        "a opaque": a.token("opaque", "read"),
        "b opaque": b.token("opaque", "read"),
        "kit jwt": k.token(),
        "stranger jwt": stranger.token(),
    }
    tenant_of = {"a opaque": "a.example", "b opaque": "b"}
    decisions = [
        {
            name: outcome(lambda v=v, name=name, t=t: v.validate_request([f"Bearer {t}"], tenant=tenant_of.get(name)))
            for name, t in tokens.items()
        }
        for v in validators
    ]
    assert decisions[0] == decisions[1] == decisions[2], decisions
    assert decisions[0] == {
        "a jwt": f"accepted {a.issuer} {a.clients['svc']['client_id']}",
        "b jwt": f"accepted {b.issuer} {b.clients['svc']['client_id']}",
        "b jwt without read": "insufficient_scope",
        "a opaque": f"accepted {a.issuer} {a.clients['svc']['client_id']}",
        "b opaque": f"accepted {b.issuer} {b.clients['svc']['client_id']}",
        "kit jwt": f"accepted {k.issuer} test-client",
        "stranger jwt": "invalid_token",
    }
    assert [list(v.stats_by_issuer()) for v in validators] == [[a.issuer, b.issuer, k.issuer]] * 3
    assert kit_requests(stranger) == 0
    assert a.clients["rs_basic"]["client_secret"] not in repr(validators[0])


def entry(issuer: str) -> dict[str, Any]:
    return {"issuer": issuer, "audience": "x"}


# core/tests/issuers.rs `many_issuer_config_errors_name_the_field`, case for case.
CONFIG_ERRORS: list[tuple[dict[str, Any], str]] = [
    ({"audience": "x", "issuers": [entry("https://a")]}, "`audience` belongs in each entry"),
    ({"client_id": "rs", "issuers": [entry("https://a")]}, "`client_auth` belongs in each entry"),
    (
        {"issuers": [{"issuer": "https://a", "audience": "x", "cache": {"max_entries": 1}}]},
        "`issuers[0].cache`: set `cache` once",
    ),
    ({"issuers": [entry("https://a"), entry("https://a")]}, "`issuers[1].issuer` is listed twice"),
    (
        {
            "issuers": [
                {"issuer": "https://a", "audience": "x", "tenant": "t"},
                {"issuer": "https://b", "audience": "x", "tenant": "t"},
            ]
        },
        "`issuers[1].tenant`",
    ),
    ({"issuers": [{"issuer": "https://a"}]}, "`issuers[0]`: `audience` is required"),
    ({"issuers": [{"issuer": "http://a.example", "audience": "x"}]}, "`issuers[0]`: `issuer`"),
    ({"issuer": "https://a", "audience": "x", "tenant": "t"}, "`tenant` selects an entry"),
    ({"resolver": {"max_issuers": 0}, "issuers": [entry("https://a")]}, "`resolver.max_issuers`"),
    ({"issuers": [entry("https://a"), {"issuer": "https://b", "leway": 1}]}, "leway"),
]


@pytest.mark.parametrize(("config", "expected"), CONFIG_ERRORS, ids=[e for _, e in CONFIG_ERRORS])
def test_many_issuer_config_errors_name_the_field_from_every_source(
    config: dict[str, Any], expected: str, tmp_path: Path
) -> None:
    errors = three_sources(config, tmp_path)
    assert all(isinstance(e, ConfigurationError) for e in errors), errors
    details = [e.detail for e in errors]
    assert details[0] == details[1] == details[2], details
    assert expected in details[0], details[0]
    if expected == "leway":
        assert "issuers[1]" in details[0]
    # Keyword arguments, as `Validator(**config)` takes them, give the same.
    with pytest.raises(ConfigurationError) as kwargs:
        Validator(**config)
    assert kwargs.value.detail == details[0]


def test_a_many_issuer_validator_names_its_issuers() -> None:
    config = {
        "issuers": [
            {"issuer": "https://a.example", "audience": "x"},
            {"issuer": "https://b.example", "audience": "x"},
        ]
    }
    v = Validator.from_config(config)
    assert v.issuer == "https://a.example"
    assert repr(v) == "Validator(issuers=['https://a.example', 'https://b.example'])"
    assert list(v.stats_by_issuer()) == ["https://a.example", "https://b.example"]
