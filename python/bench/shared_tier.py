"""bearerguard's shared second tier (`cache.shared`) from Python: what a call costs whose first
tier misses and whose second tier (a local redis-server) hits, next to a first-tier hit.

A redis-server of its own on a free 127.0.0.1 port (tests/fleet/redis_server.py: no
persistence, killed at the end) and the test kit's authorization server, which counts the
introspection requests it answers. A writer validator introspects TOKENS opaque tokens into
Redis; a reader with ``cache.max_entries = 1`` (the least allowed) cycles through them, so every
call misses its first tier and finds the verdict in Redis. Sequential calls, sync ``validate``
and awaited ``validate_async``; each call timed, median over all of them. The run stops with a
message, printing no figure, unless the reader's ``stats()["shared"]["hits"]`` grew by exactly
the number of calls and the authorization server answered no request meanwhile.

    python python/bench/shared_tier.py --out target/bench/shared_python.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import bearerguard
from bearerguard.testing import AuthorizationServer

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests" / "fleet"))
from redis_server import RedisServer  # type: ignore[import-not-found]  # the fleet tests' fixture

TOKENS = 1000
ROUNDS = int(os.environ.get("BENCH_RUNS", "5"))
SECRET = "bench-shared-tier-secret-0123456789abcdef"


def shared(url: str) -> dict[str, Any]:
    # A generous deadline: a noisy machine must not turn a hit into a timeout (a miss).
    return {"url": url, "key_prefix": "bench-py", "secrets": [{"id": "k1", "secret": SECRET}], "timeout_ms": 1000}


def p90(xs: list[float]) -> float:
    return sorted(xs)[round((len(xs) - 1) * 0.9)]


def first_tier_us(call: Callable[[], object], n: int = 20_000) -> float:
    """Median over the rounds of the mean µs per call over `n` calls of one cached token."""
    for _ in range(n // 10):
        call()
    samples = []
    for _ in range(ROUNDS):
        start = time.perf_counter_ns()
        for _ in range(n):
            call()
        samples.append((time.perf_counter_ns() - start) / n / 1000)
    return statistics.median(samples)


def counts(reader: bearerguard.Validator, server: AuthorizationServer) -> tuple[int, int]:
    """The reader's second-tier hits and the introspection requests the server answered."""
    return reader.stats()["shared"]["hits"], server.counts()["introspection"]


def check(what: str, before: tuple[int, int], after: tuple[int, int], calls: int) -> None:
    """Exits unless every timed call was a second-tier hit (see the module docstring)."""
    hits, asked = after[0] - before[0], after[1] - before[1]
    if hits != calls or asked != 0:
        sys.exit(
            f"{what}: {calls} calls, shared hits grew by {hits}, introspection requests by {asked}: "
            "not a second-tier hit every call"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="where to write the JSON figures")
    args = parser.parse_args()
    with AuthorizationServer() as server, RedisServer() as redis:
        writer = bearerguard.Validator.from_config(server.config(cache={"shared": shared(redis.url)}))
        tokens = [server.opaque_token(scope="read write") for _ in range(TOKENS)]
        for t in tokens:
            writer.validate(t)
        reader = bearerguard.Validator.from_config(server.config(cache={"max_entries": 1, "shared": shared(redis.url)}))
        for t in tokens:  # warm-up: the reader's connection, one round
            reader.validate(t)

        before = counts(reader, server)
        sync_us: list[float] = []
        for _ in range(ROUNDS):
            for t in tokens:
                start = time.perf_counter_ns()
                reader.validate(t)
                sync_us.append((time.perf_counter_ns() - start) / 1000)
        check("sync validate", before, counts(reader, server), len(sync_us))

        async def awaited() -> tuple[tuple[int, int], list[float]]:
            for t in tokens:
                await reader.validate_async(t)
            before = counts(reader, server)
            out: list[float] = []
            for _ in range(ROUNDS):
                for t in tokens:
                    start = time.perf_counter_ns()
                    await reader.validate_async(t)
                    out.append((time.perf_counter_ns() - start) / 1000)
            return before, out

        before, async_us = asyncio.run(awaited())
        check("awaited validate_async", before, counts(reader, server), len(async_us))

        token = tokens[0]
        writer.validate(token)

        async def first_tier_async(n: int = 20_000) -> float:
            for _ in range(n // 10):
                await writer.validate_async(token)
            samples = []
            for _ in range(ROUNDS):
                start = time.perf_counter_ns()
                for _ in range(n):
                    await writer.validate_async(token)
                samples.append((time.perf_counter_ns() - start) / n / 1000)
            return statistics.median(samples)

        figures: dict[str, Any] = {
            "tokens": TOKENS,
            "rounds": ROUNDS,
            "second_tier_hit": {
                "sync": {"us": statistics.median(sync_us), "p90_us": p90(sync_us), "calls": len(sync_us)},
                "asyncio": {"us": statistics.median(async_us), "p90_us": p90(async_us), "calls": len(async_us)},
            },
            "first_tier_hit": {
                "sync": {"us": first_tier_us(lambda: writer.validate(token))},
                "asyncio": {"us": asyncio.run(first_tier_async())},
            },
        }
    second, first = figures["second_tier_hit"], figures["first_tier_hit"]
    print(
        "shared tier, Python: second-tier hit",
        ", ".join(f"{k} {v['us']:.1f} µs" for k, v in second.items()),
        "| first-tier hit",
        ", ".join(f"{k} {v['us']:.2f} µs" for k, v in first.items()),
        flush=True,
    )
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(figures, f, indent=2)


if __name__ == "__main__":
    main()
