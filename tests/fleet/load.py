"""The fleet under load and faults: the three example apps (fleet.py) sharing one Redis are driven
for a fixed time by closed-loop workers (as fast as the apps answer, loopback only) while Redis is
paused, stopped, restarted and flushed, and the authorization server is stopped and started again
on its port with fresh signing keys (a JWKS rotation; its tokens are gone). Every answer is judged:

- a revoked or made-up token answered 200 is a wrong decision;
- a good token of the running server answered 401 or 403 is a wrong decision, and so is a 503
  while the server was up for the whole request (outside a 2 s grace after its restart);
- a token of the server's previous run may be 200 (a verdict still cached), 401 or 503.

It prints requests served, answers by class and status, and latency percentiles.

    .venv/bin/python tests/fleet/load.py --seconds 120 --workers 8     # make load
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
from fleet import APPS, AuthorizationServer, fleet, fleet_config
from redis_server import RedisServer

#: When each fault starts, as a fraction of the run (the server's restart lands more than
#: `jwks.refresh_cooldown_secs` after the first JWKS fetch, so the rotation can be seen).
SCHEDULE = [
    (0.15, "redis pause"),
    (0.22, "redis resume"),
    (0.30, "redis stop"),
    (0.38, "redis start"),
    (0.45, "as stop"),
    (0.70, "as start"),
    (0.80, "redis flush"),
]
GRACE_S = 2.0


@dataclass
class Pool:
    """Tokens by class; `generation` counts the server's runs."""

    generation: int = 0
    good: list[tuple[int, str]] = field(default_factory=list)
    bad: list[tuple[int, str]] = field(default_factory=list)
    old: list[str] = field(default_factory=list)

    def retire(self) -> None:
        """The server is about to start again without its tokens: its good ones become old.
        (Its revoked ones stay bad: no run of the server accepts them.)"""
        self.old += [t for _, t in self.good]
        self.good = []

    def refill(self, auth: AuthorizationServer) -> None:
        self.generation += 1
        good = [auth.token("opaque") for _ in range(8)] + [auth.token("jwt") for _ in range(4)]
        revoked = [auth.token("opaque") for _ in range(4)]
        for token in revoked:
            auth.revoke(token)
        self.good = [(self.generation, t) for t in good]
        self.bad += [(self.generation, t) for t in revoked] + [(0, f"made-up-{uuid.uuid4().hex}") for _ in range(2)]

    def pick(self, rng: random.Random) -> tuple[str, str]:
        roll = rng.random()
        if self.old and (roll < 0.1 or not self.good):
            return "old", rng.choice(self.old)
        if roll < 0.75 and self.good:
            return "good", rng.choice(self.good)[1]
        return "bad", rng.choice(self.bad)[1]


@dataclass
class Tally:
    served: int = 0
    wrong: int = 0
    by_class: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    wrong_examples: list[str] = field(default_factory=list)


class Faults:
    """The schedule, applied by one task; records when the server was down."""

    def __init__(self, auth: AuthorizationServer, redis: RedisServer, pool: Pool) -> None:
        self.auth, self.redis, self.pool = auth, redis, pool
        self.as_down_since: float | None = None
        self.as_up_since = time.monotonic() - GRACE_S
        self.log: list[str] = []

    def server_steady(self, started: float, ended: float) -> bool:
        """Whether the server was up, past its grace, for the whole of [started, ended]."""
        return self.as_down_since is None and started >= self.as_up_since + GRACE_S and ended >= started

    async def run(self, t0: float, seconds: float) -> None:
        for at, step in SCHEDULE:
            await asyncio.sleep(max(0.0, t0 + at * seconds - time.monotonic()))
            self.log.append(f"{time.monotonic() - t0:6.2f} s {step}")
            if step == "redis pause":
                self.redis.pause()
            elif step == "redis resume":
                self.redis.resume()
            elif step == "redis stop":
                self.redis.stop()
            elif step == "redis start":
                await asyncio.to_thread(self.redis.start)
            elif step == "redis flush":
                self.redis.flushall()
            elif step == "as stop":
                self.as_down_since = time.monotonic()
                await asyncio.to_thread(self.auth.stop)
            elif step == "as start":
                self.pool.retire()
                await asyncio.to_thread(self.auth.start)
                await asyncio.to_thread(self.pool.refill, self.auth)
                self.as_up_since = time.monotonic()
                self.as_down_since = None


def judge(kind: str, status: int, steady: bool) -> bool:
    """Whether an answer is right (see the module docs)."""
    if kind == "bad":
        return status != 200
    if kind == "good":
        return status == 200 or (status == 503 and not steady)
    return status in (200, 401, 503)


async def worker(
    client: httpx.AsyncClient, url: str, pool: Pool, faults: Faults, tally: Tally, until: float, seed: int
) -> None:
    rng = random.Random(seed)
    while time.monotonic() < until:
        kind, token = pool.pick(rng)
        down_before = faults.as_down_since is not None
        started = time.monotonic()
        try:
            r = await client.get(f"{url}/orders", headers={"Authorization": f"Bearer {token}"})
            status: int | str = r.status_code
        except httpx.HTTPError as e:
            status = type(e).__name__
        ended = time.monotonic()
        steady = not down_before and faults.server_steady(started, ended)
        tally.served += 1
        tally.latencies.append(ended - started)
        tally.by_class[f"{kind} {status}"] += 1
        if not isinstance(status, int) or not judge(kind, status, steady):
            tally.wrong += 1
            if len(tally.wrong_examples) < 10:
                tally.wrong_examples.append(f"{kind} token -> {status} at {url} (steady={steady})")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))] if ordered else 0.0


async def drive(apps: dict[str, str], pool: Pool, faults: Faults, seconds: float, workers: int) -> Tally:
    tally = Tally()
    t0 = time.monotonic()
    until = t0 + seconds
    limits = httpx.Limits(max_connections=workers * len(apps) * 2)
    async with httpx.AsyncClient(timeout=10, limits=limits) as client:
        tasks = [
            worker(client, apps[name], pool, faults, tally, until, seed=i * 31 + j)
            for i, name in enumerate(APPS)
            for j in range(workers)
        ]
        await asyncio.gather(faults.run(t0, seconds), *tasks)
    return tally


def run(auth: AuthorizationServer, redis: RedisServer, seconds: float, workers: int) -> dict[str, Any]:
    """Drives the fleet for `seconds` with `workers` per app; prints and returns the report."""
    config = fleet_config(auth, redis.url, f"load-{uuid.uuid4().hex[:8]}")
    pool = Pool()
    pool.refill(auth)
    faults = Faults(auth, redis, pool)
    with fleet(config) as apps:
        tally = asyncio.run(drive(apps, pool, faults, seconds, workers))
    ms = [x * 1000 for x in tally.latencies]
    report = {
        "seconds": seconds,
        "workers_per_app": workers,
        "served": tally.served,
        "per_second": round(tally.served / seconds),
        "wrong": tally.wrong,
        "wrong_examples": tally.wrong_examples,
        "answers": dict(sorted(tally.by_class.items())),
        "latency_ms": {p: round(percentile(ms, q), 2) for p, q in [("p50", 0.5), ("p90", 0.9), ("p99", 0.99)]}
        | {"max": round(max(ms, default=0.0), 2)},
        "faults": faults.log,
    }
    print(json.dumps(report, indent=2))
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--workers", type=int, default=8, help="closed-loop workers per app")
    args = parser.parse_args()
    auth = AuthorizationServer()
    auth.start()
    try:
        with RedisServer() as redis:
            report = run(auth, redis, args.seconds, args.workers)
    finally:
        auth.stop()
    return 1 if report["wrong"] else 0


if __name__ == "__main__":
    sys.exit(main())
