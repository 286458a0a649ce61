"""A validator built (and used) before a fork keeps working in the children."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from typing import Any

import pytest

from bearerguard import InsufficientScopeError, Validator
from conftest import NO_SHARED


def child(v: Validator, jwt: str, opaque: str, queue: Any) -> None:
    try:
        out: list[Any] = [os.getpid()]
        out.append(v.validate(jwt, ["read"]).source)
        out.append(v.validate(opaque, ["read"]).source)

        async def run() -> str:
            return (await v.validate_async(opaque, ["read"])).source

        out.append(asyncio.run(run()))
        try:
            v.validate(opaque, ["admin"])
        except InsufficientScopeError as e:
            out.append(e)  # crosses the process boundary by pickling
        out.append(v.stats())
        queue.put(out)
    except BaseException as e:  # noqa: BLE001 - reported to the parent
        queue.put(repr(e))


@pytest.mark.parametrize("warm", [True, False], ids=["used-before-fork", "unused-before-fork"])
def test_validator_works_in_forked_children(auth_server: Any, warm: bool) -> None:
    v = Validator(**auth_server.config())
    jwt, opaque = auth_server.token("jwt", "read"), auth_server.token("opaque", "read")
    if warm:
        assert v.validate(jwt).source == "jwt"
        assert v.validate(opaque).source == "introspection"
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    procs = [ctx.Process(target=child, args=(v, jwt, opaque, queue)) for _ in range(2)]
    for p in procs:
        p.start()
    results = [queue.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    for r in results:
        assert isinstance(r, list), r
        pid, jwt_source, opaque_source, async_source, error, stats = r
        assert pid != os.getpid()
        assert (jwt_source, opaque_source, async_source) == ("jwt", "introspection", "introspection")
        assert isinstance(error, InsufficientScopeError) and error.required_scopes == ("admin",)
        # The child's own validator: its first decisions, nothing of the parent's.
        assert stats == {
            "introspection_requests": 1,
            "jwks_fetches": 1,
            "accepted": 3,
            "refused": 1,
            "unrouted": 0,
            "shared": NO_SHARED,
        }
    # The parent is unaffected.
    assert v.validate(jwt, ["read"]).source == "jwt"
