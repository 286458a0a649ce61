"""Three API processes — the FastAPI, Express and Rust example apps — share one Redis (the
validators' `cache.shared`) in front of the real authorization server, which counts the
introspection requests it answers (docs/security.md SCACHE)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fleet import APPS, BASE_URL, AuthorizationServer, fleet, fleet_config, forget
from redis_server import RedisServer

from bearerguard.testing import DpopKey


@pytest.fixture
def auth() -> Iterator[AuthorizationServer]:
    server = AuthorizationServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def redis() -> Iterator[RedisServer]:
    with RedisServer() as server:
        yield server


def orders(url: str, token: str, **headers: str) -> httpx.Response:
    return httpx.get(f"{url}/orders", headers={"Authorization": f"Bearer {token}", **headers}, timeout=10)


async def spread(urls: list[str], token: str, n: int) -> list[int]:
    """`n` concurrent GET /orders with `token`, spread over `urls` in turn."""
    async with httpx.AsyncClient(timeout=10) as client:
        calls = [
            client.get(f"{urls[i % len(urls)]}/orders", headers={"Authorization": f"Bearer {token}"}) for i in range(n)
        ]
        return [r.status_code for r in await asyncio.gather(*calls)]


def test_three_apps_share_verdicts_single_flight_forget_and_dpop_replays(
    auth: AuthorizationServer, redis: RedisServer
) -> None:
    config = fleet_config(auth, redis.url, f"fleet-{uuid.uuid4().hex[:8]}")
    with fleet(config) as apps:
        urls = [apps[name] for name in APPS]
        # 100 concurrent requests with one new opaque token, spread over the three apps.
        token = auth.token("opaque")
        before = auth.introspections()
        statuses = asyncio.run(spread(urls, token, 100))
        asked = auth.introspections() - before
        print(f"100 concurrent requests over 3 apps: {asked} introspection request(s)")
        assert statuses == [200] * 100
        assert 1 <= asked <= 2

        # A verdict cached by one app is served by the others without a request.
        for first in APPS:
            token = auth.token("opaque")
            before = auth.introspections()
            assert orders(apps[first], token).status_code == 200, first
            assert auth.introspections() == before + 1
            for other in APPS:
                assert orders(apps[other], token).status_code == 200, (first, other)
            assert auth.introspections() == before + 1, f"{first}'s verdict was not shared"

        # forget on one (its revocation hook) -> the others refuse the token within 1 s.
        for first in APPS:
            token = auth.token("opaque")
            for name in APPS:
                assert orders(apps[name], token).status_code == 200
            auth.revoke(token)
            assert all(orders(apps[name], token).status_code == 200 for name in APPS), "still cached"
            started = time.monotonic()
            assert forget(apps[first], token) == 204
            for other in APPS:
                while (status := orders(apps[other], token).status_code) == 200:
                    assert time.monotonic() - started < 1.0, f"{other} still accepts after {first}'s forget"
                    time.sleep(0.01)
                assert status == 401, (other, status)
            print(f"forget on {first}: every app refuses after {time.monotonic() - started:.3f} s")

        # A DPoP proof accepted by one app is refused by the others (the proof's jti is shared).
        key = DpopKey()
        for resource in ("jwt", "opaque"):
            bound = auth.token(resource, dpop=key.proof("POST", auth.ready["token_endpoint"]))
            for first in APPS:
                proof = key.proof("GET", f"{BASE_URL}/orders", bound)
                headers = {"Authorization": f"DPoP {bound}", "DPoP": proof}
                accepted = httpx.get(f"{apps[first]}/orders", headers=headers)
                assert accepted.status_code == 200, (resource, first, accepted.text)
                for other in APPS:
                    replayed = httpx.get(f"{apps[other]}/orders", headers=headers)
                    assert replayed.status_code == 401, (resource, first, other, replayed.text)
                    assert 'error="invalid_dpop_proof"' in replayed.headers["WWW-Authenticate"], other


def good_and_bad(auth: AuthorizationServer) -> tuple[list[str], list[str]]:
    """Fresh tokens of the current server: good ones (opaque and JWT), and revoked or made-up ones."""
    good = [auth.token("opaque") for _ in range(3)] + [auth.token("jwt")]
    revoked = [auth.token("opaque") for _ in range(2)]
    for token in revoked:
        auth.revoke(token)
    return good, [*revoked, f"made-up-{uuid.uuid4().hex}"]


def check_round(apps: dict[str, str], auth: AuthorizationServer, what: str, bound_s: float) -> float:
    """Every app answers new good tokens 200 and revoked or unknown ones 401, each within
    `bound_s`; returns the slowest answer."""
    good, bad = good_and_bad(auth)
    slowest = 0.0
    for name, url in apps.items():
        for token, want in [(t, 200) for t in good] + [(t, 401) for t in bad]:
            started = time.monotonic()
            status = orders(url, token).status_code
            took = time.monotonic() - started
            slowest = max(slowest, took)
            assert status == want, f"{what}: {name} answered {status} for a token that deserves {want}"
            assert took < bound_s, f"{what}: {name} took {took:.3f} s"
    return slowest


def test_faults_of_the_shared_redis_never_change_an_answer(auth: AuthorizationServer, redis: RedisServer) -> None:
    prefix = f"fleet-{uuid.uuid4().hex[:8]}"
    config = fleet_config(auth, redis.url, prefix)
    timeout_s = config["cache"]["shared"]["timeout_ms"] / 1000
    # One introspection on loopback takes milliseconds; the bound leaves room for a busy CI.
    bound = timeout_s + 1.0
    figures: dict[str, float] = {}
    with fleet(config) as apps:
        figures["healthy"] = check_round(apps, auth, "healthy", bound)
        redis.stop()
        figures["stopped"] = check_round(apps, auth, "Redis stopped", bound)
        redis.start()
        redis.pause()
        figures["paused"] = check_round(apps, auth, "Redis paused", bound)
        redis.resume()
        redis.flushall()
        figures["flushed"] = check_round(apps, auth, "Redis flushed", bound)

        # Entries forged or altered directly in Redis are refused: a revoked token's entry
        # overwritten with an accepted token's value, and every entry with garbage.
        shared_good = auth.token("opaque")
        shared_bad = auth.token("opaque")
        auth.revoke(shared_bad)
        before = set(redis.keys(f"{prefix}:v:*"))
        assert orders(apps["fastapi"], shared_good).status_code == 200
        good_key = (set(redis.keys(f"{prefix}:v:*")) - before).pop()
        assert orders(apps["express"], shared_bad).status_code == 401
        bad_key = (set(redis.keys(f"{prefix}:v:*")) - before - {good_key}).pop()
        assert redis.command("COPY", good_key, bad_key, "REPLACE") == 1
        # The apps hold their own verdicts (first tier); forget drops them everywhere.
        assert forget(apps["rust"], shared_bad) == 204
        redis.command("COPY", good_key, bad_key, "REPLACE")
        time.sleep(0.2)
        for name, url in apps.items():
            assert orders(url, shared_bad).status_code == 401, f"{name} accepted a moved entry"
        for key in redis.keys(f"{prefix}:v:*"):
            redis.command("SET", key, "garbage")
        figures["forged"] = check_round(apps, auth, "forged entries", bound)

        # After Redis is back, sharing resumes: one app's verdict serves the others.
        deadline = time.monotonic() + 5
        while True:
            token = auth.token("opaque")
            assert orders(apps["rust"], token).status_code == 200
            before = auth.introspections()
            assert orders(apps["fastapi"], token).status_code == 200
            assert orders(apps["express"], token).status_code == 200
            if auth.introspections() == before:
                break
            assert time.monotonic() < deadline, "sharing did not resume"
            time.sleep(0.1)
    print("slowest answer per phase (s): " + ", ".join(f"{k} {v:.3f}" for k, v in figures.items()))


def test_the_ci_sized_load_test_makes_no_wrong_decision(auth: AuthorizationServer, redis: RedisServer) -> None:
    from load import run

    report: dict[str, Any] = run(auth, redis, seconds=16.0, workers=4)
    assert report["wrong"] == 0, report
    assert report["served"] > 100, report
