"""The shared conformance cases (tests/cases/*.json), also run by cargo test and node --test:
canned JWKS and introspection documents served on 127.0.0.1, every case on both paths."""

import asyncio
import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bearerguard import BearerGuardError, TokenInfo, Validator, _native
from conftest import Canned

TESTS = Path(__file__).resolve().parents[2] / "tests"
CASES = sorted(
    (f"{path.stem}/{case['name']}", case)
    for path in sorted((TESTS / "cases").glob("*.json"))
    for case in json.loads(path.read_text())["cases"]
)


@pytest.fixture(scope="module")
def server() -> Iterator[Canned]:
    canned = Canned()
    yield canned
    canned.close()


def with_server(value: Any, url: str) -> Any:
    if isinstance(value, str):
        return value.replace("{server}", url)
    if isinstance(value, list):
        return [with_server(v, url) for v in value]
    if isinstance(value, dict):
        return {k: with_server(v, url) for k, v in value.items()}
    return value


def serve(canned: Canned, documents: dict[str, Any]) -> None:
    canned.routes.clear()
    canned.requests.clear()
    if "jwks" in documents:
        canned.route(
            "/jwks",
            documents["jwks"],
            status=documents.get("jwks_status", 200),
            headers=with_server(documents.get("jwks_headers", {}), canned.url),
        )
    if "introspection" in documents:
        i = documents["introspection"]
        body = i["body_text"] if "body_text" in i else i.get("body", {})
        canned.route(
            "/introspect",
            body,
            status=i.get("status", 200),
            content_type=i.get("content_type", "application/json"),
            headers=with_server(i.get("headers", {}), canned.url),
        )


KNOWN = {
    "case": {
        "name", "description", "now", "config", "server", "token", "token_file", "scopes", "request",
        "expected", "again", "expected_requests",
    },
    "request": {"method", "url", "authorization", "dpop", "client_certificate", "headers"},
    "ok": {
        "ok", "source", "subject", "client_id", "username", "issuer", "token_type", "expires_at", "scopes",
        "roles", "audiences", "claims", "dpop_nonce",
    },
    "error": {"ok", "code", "at", "www_authenticate", "dpop_nonce"},
}  # fmt: skip


def refuse_unknown(what: str, obj: dict[str, Any]) -> None:
    kind = what if what in ("case", "request") else ("ok" if obj.get("ok") else "error")
    assert set(obj) <= KNOWN[kind], f"unknown member(s) in {what}: {sorted(set(obj) - KNOWN[kind])}"


def check_error(e: BearerGuardError, expected: dict[str, Any]) -> None:
    assert (expected["ok"], expected.get("at"), e.code) == (False, None, expected["code"]), str(e)
    assert type(e).code == e.code
    for field in ("www_authenticate", "dpop_nonce"):
        if field in expected:
            assert getattr(e, field) == expected[field], field


def check_info(info: TokenInfo, expected: dict[str, Any]) -> None:
    for field in ("source", "subject", "client_id", "username", "issuer", "token_type", "expires_at", "dpop_nonce"):
        if field in expected:
            assert getattr(info, field) == expected[field], field
    for field in ("scopes", "roles", "audiences"):
        if field in expected:
            assert list(getattr(info, field)) == expected[field], field
    for name, value in expected.get("claims", {}).items():
        assert info.claims[name] == value, name


def check_secrecy(error: BearerGuardError, token: str, config: dict[str, Any]) -> None:
    """The error's text must not show the token, its long parts, or the client secret."""
    shown = "\n".join([str(error), repr(error), str(error.args), str(getattr(error, "www_authenticate", ""))])
    secrets = [part for part in token.split(".") if len(part) >= 12]
    if token:
        secrets.append(token)
    if isinstance(config.get("client_secret"), str) and config["client_secret"]:
        secrets.append(config["client_secret"])
    for secret in secrets:
        assert secret not in shown, f"the error shows a secret:\n{shown[:500]}"


@pytest.mark.skipif(not CASES, reason="tests/cases holds no cases yet")
@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize(("name", "case"), CASES or [("none", {})], ids=[n for n, _ in CASES] or ["none"])
def test_case(server: Canned, name: str, case: dict[str, Any], asynchronous: bool) -> None:
    refuse_unknown("case", case)
    refuse_unknown("expected", case["expected"])
    if "request" in case:
        refuse_unknown("request", case["request"])
    if "again" in case:
        refuse_unknown("again", case["again"])
    serve(server, case.get("server", {}))
    config = with_server(case["config"], server.url)
    expected = case["expected"]
    token = case["token"] if "token" in case else (TESTS / case["token_file"]).read_text().strip()
    if "now" in case and not _native.test_hooks_enabled():
        pytest.skip("the case needs a fixed clock: this build lacks the cargo feature `test-hooks`")
    try:
        if "now" in case:
            v = Validator._with_fixed_clock(config, case["now"])  # type: ignore[attr-defined]
        else:
            v = Validator.from_config(config)
    except BearerGuardError as e:
        assert (expected["ok"], expected.get("at"), e.code) == (False, "build", expected["code"]), str(e)
        check_secrecy(e, token, config)
        return
    request = case.get("request")

    def decide(asynchronous: bool) -> TokenInfo:
        scopes = case.get("scopes")
        if request is None:
            if asynchronous:

                async def run() -> TokenInfo:
                    return await v.validate_async(token, scopes)

                return asyncio.run(run())
            return v.validate(token, scopes)
        cert = request.get("client_certificate")
        kwargs: dict[str, Any] = {
            "method": request["method"],
            "url": request.get("url"),
            "dpop": request.get("dpop", []),
            "client_certificate": None if cert is None else base64.b64decode(cert),
            "headers": request.get("headers"),
        }
        if asynchronous:

            async def run_request() -> TokenInfo:
                return await v.validate_request_async(request["authorization"], scopes, **kwargs)

            return asyncio.run(run_request())
        return v.validate_request(request["authorization"], scopes, **kwargs)

    try:
        info = decide(asynchronous)
    except BearerGuardError as e:
        check_error(e, expected)
        check_secrecy(e, token, config)
    else:
        assert expected["ok"], f"accepted, expected {expected.get('code')}"
        check_info(info, expected)
    if "expected_requests" in case:
        seen = dict(server.requests)
        counts = {"jwks": seen.pop("/jwks", 0), "introspect": seen.pop("/introspect", 0), "other": sum(seen.values())}
        assert counts == {**counts, **case["expected_requests"]}
    # The same call once more: a remembered answer (docs/security.md KEY-9) agrees with the first,
    # unless the case says what the second answer is (`again`: a DPoP proof sent twice is a replay).
    again_expected = case.get("again", expected)
    try:
        again = decide(False)
    except BearerGuardError as e:
        if "again" in case:
            check_error(e, again_expected)
        else:
            assert (expected["ok"], e.code) == (False, expected["code"]), f"a second call answered {e.code}"
    else:
        assert again_expected["ok"], "a second call accepted"
        check_info(again, again_expected)
