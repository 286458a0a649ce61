"""Many asyncio callers of one new opaque token: one introspection request, and the event loop
keeps serving a 1 ms timer throughout."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bearerguard import Validator


def test_200_concurrent_validations_make_one_introspection_request(auth_server: Any) -> None:
    v = Validator(**auth_server.config())
    v.validate(auth_server.token("opaque", "read"))  # discovery done; the pool is warm
    before = v.stats()["introspection_requests"]
    token = auth_server.token("opaque", "read write")

    async def run() -> tuple[list[Any], int, float]:
        ticks, longest = 0, 0.0
        stop = asyncio.Event()

        async def timer() -> None:
            nonlocal ticks, longest
            last = time.perf_counter()
            while not stop.is_set():
                await asyncio.sleep(0.001)
                now = time.perf_counter()
                ticks, longest = ticks + 1, max(longest, now - last)
                last = now

        ticker = asyncio.create_task(timer())
        await asyncio.sleep(0.01)
        results = await asyncio.gather(*(v.validate_async(token, ["read"]) for _ in range(200)))
        await asyncio.sleep(0.01)
        stop.set()
        await ticker
        return results, ticks, longest

    results, ticks, longest = asyncio.run(run())
    assert len(results) == 200 and {r.claims["client_id"] for r in results} == {"svc-client"}
    assert v.stats()["introspection_requests"] - before == 1
    print(f"timer ticks {ticks}, longest gap {longest * 1000:.1f} ms")
    assert ticks >= 10, ticks
    # Generous for a loaded 2-core CI machine; a blocked loop would show the whole round trip.
    assert longest < 0.25, longest
