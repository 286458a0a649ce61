"""bearerguard from Python next to the libraries a Python API would use instead, in one run.

Figures only, no assertions on speed. Every library first proves it accepts the good token and
refuses a tampered one, so no one is timed doing less than the others.

JWT (key already cached, full checks: signature, alg allow-list, iss, aud, exp required):
  bearerguard `Validator.validate` (JWKS from a loopback server) against PyJWT with
  `PyJWKClient` (its documented JWKS path, keys cached), authlib.jose and joserfc with the
  key set imported once, on the same tokens and the same JWKS; RS256, ES256 and EdDSA; timed
  two ways:
  - first seen: one list of tokens, a new `jti` each, all signed before any timing, enough for
    the warm-up and every round; each library validates each token of the list once, in the
    same order (what a token costs the first time an API sees it);
  - repeated: one token every call (what a client reusing its token costs; bearerguard
    remembers verified JWTs, the peers verify again).
Introspection (RFC 7662, cache off so every call is a request), against one loopback server
  (`core/examples/introspection_server.rs`, compiled release): bearerguard against `httpx`
  and `requests`, sequential and with 16 in flight; and a cache hit. During the miss cases the
  server runs pinned to CPU 0 and this process (every thread) to CPU 1, with `taskset`
  (skipped, with a note, where there is no taskset or fewer than two CPUs).
Scaling: ops/s from 2 threads against 1, repeated token (the GIL is released in
  bearerguard's calls).

    python python/bench/compare.py --server target/release/examples/introspection_server \
        --out target/bench/python.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.metadata import version
from typing import Any

import httpx
import joserfc.jwk
import joserfc.jwt
import jwt as pyjwt
import requests
from authlib.jose import JsonWebKey, JsonWebToken
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

import bearerguard

AUD = "bench-api"
RUNS = int(os.environ.get("BENCH_RUNS", "7"))
TASKSET = shutil.which("taskset")
PIN = TASKSET is not None and len(os.sched_getaffinity(0)) >= 2


# A round of `median_us` lasts at least this long and its warm-up at least WARM_S, so a call of a
# microsecond is timed over ~100,000 calls, not over a fixed 2,000 (two milliseconds: the timer's
# and the scheduler's noise).
ROUND_S = 0.1
WARM_S = 0.05


def median_us(call: Callable[[], object], n: int, runs: int = RUNS) -> float:
    """Median over `runs` of the mean µs per call over at least `n` calls, and enough calls for a
    round of ROUND_S (the count estimated from a warm-up of WARM_S)."""
    warm = 0
    warm_start = time.perf_counter_ns()
    while warm < max(50, n // 10) or time.perf_counter_ns() - warm_start < WARM_S * 1e9:
        call()
        warm += 1
    per_call_s = (time.perf_counter_ns() - warm_start) / warm / 1e9
    count = max(n, math.ceil(ROUND_S / per_call_s))
    samples = []
    for _ in range(runs):
        start = time.perf_counter_ns()
        for _ in range(count):
            call()
        samples.append((time.perf_counter_ns() - start) / count / 1000)
    return statistics.median(samples)


def median_first_seen_us(call: Callable[[str], object], tokens: list[str], n: int, runs: int = RUNS) -> float:
    """Like `median_us`, each call on the next token of `tokens` (each used once)."""
    warm = len(tokens) - n * runs
    assert warm >= 0, "not enough first-seen tokens"
    for t in tokens[:warm]:
        call(t)
    samples = []
    for r in range(runs):
        batch = tokens[warm + r * n : warm + (r + 1) * n]
        start = time.perf_counter_ns()
        for t in batch:
            call(t)
        samples.append((time.perf_counter_ns() - start) / n / 1000)
    return statistics.median(samples)


def pin_self(cpus: str) -> None:
    """Every thread of this process onto `cpus` (a comma-separated list), when pinning is on.
    Thread by thread, so a thread that ends meanwhile is skipped (`taskset -a` fails on it:
    it ended one `make bench` run)."""
    if not PIN:
        return
    wanted = {int(c) for c in cpus.split(",")}
    for tid in os.listdir("/proc/self/task"):
        try:
            os.sched_setaffinity(int(tid), wanted)
        except ProcessLookupError:
            pass


def threads_ops(call: Callable[[], object], threads: int, seconds: float = 1.0) -> float:
    """Calls per second with `threads` threads calling in a loop for `seconds`."""
    counts = [0] * threads
    stop = time.perf_counter() + seconds
    barrier = threading.Barrier(threads)

    def loop(i: int) -> None:
        barrier.wait()
        n = 0
        while time.perf_counter() < stop:
            for _ in range(20):
                call()
            n += 20
        counts[i] = n

    start = time.perf_counter()
    workers = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return sum(counts) / (time.perf_counter() - start)


def refuses(call: Callable[[], object]) -> bool:
    try:
        call()
    except Exception:  # noqa: BLE001 - each library refuses with exceptions of its own
        return True
    return False


class JwksServer:
    """Serves one JWKS document over loopback HTTP, for bearerguard and PyJWKClient."""

    def __init__(self, jwks: dict[str, Any]) -> None:
        body = json.dumps(jwks).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


def make_keys() -> dict[str, Any]:
    keys = {
        "RS256": rsa.generate_private_key(public_exponent=65537, key_size=2048),
        "ES256": ec.generate_private_key(ec.SECP256R1()),
        "EdDSA": ed25519.Ed25519PrivateKey.generate(),
    }
    return keys


def public_jwk(alg: str, key: Any) -> dict[str, Any]:
    algo = {"RS256": pyjwt.algorithms.RSAAlgorithm, "ES256": pyjwt.algorithms.ECAlgorithm}.get(
        alg, pyjwt.algorithms.OKPAlgorithm
    )
    jwk: dict[str, Any] = json.loads(algo.to_jwk(key.public_key()))
    jwk.update({"kid": f"{alg.lower()}-1", "alg": alg, "use": "sig"})
    return jwk


def jwt_benchmarks(n: int, first_n: int) -> dict[str, Any]:
    keys = make_keys()
    jwks = {"keys": [public_jwk(alg, k) for alg, k in keys.items()]}
    server = JwksServer(jwks)
    issuer = server.url
    validator = bearerguard.Validator(
        issuer=issuer,
        audience=AUD,
        discovery=False,
        jwks_uri=f"{issuer}/jwks",
        strategy="jwt",
        algorithms=list(keys),
    )
    pyjwk_client = pyjwt.PyJWKClient(f"{issuer}/jwks", cache_keys=True)
    authlib_keys = JsonWebKey.import_key_set(jwks)
    joserfc_keys = joserfc.jwk.KeySet.import_key_set(jwks)
    registry = joserfc.jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": issuer}, aud={"essential": True, "value": AUD}, exp={"essential": True}
    )
    authlib_options = {
        "iss": {"essential": True, "value": issuer},
        "aud": {"essential": True, "value": AUD},
        "exp": {"essential": True},
    }
    now = int(time.time())
    claims = {
        "iss": issuer,
        "aud": AUD,
        "sub": "alice",
        "client_id": "bench-client",
        "scope": "read write",
        "iat": now,
        "exp": now + 3600,
        "jti": "bench-jti-0001",
    }
    results: dict[str, Any] = {}
    for alg, key in keys.items():
        headers = {"kid": f"{alg.lower()}-1", "typ": "at+jwt"}
        token = pyjwt.encode(claims, key, algorithm=alg, headers=headers)
        # One shared list: warm-up plus every round, each token new to every library.
        first_seen = [
            pyjwt.encode({**claims, "jti": f"first-seen-{alg}-{i:06}"}, key, algorithm=alg, headers=headers)
            for i in range(max(50, first_n // 5) + first_n * RUNS)
        ]
        head, body, sig = token.split(".")
        tampered = f"{head}.{body}.{sig[:-4]}{'AAAA' if sig[-4:] != 'AAAA' else 'BBBB'}"
        authlib_jwt = JsonWebToken([alg])

        def ours(t: str = token) -> str | None:
            return validator.validate(t).subject

        def with_pyjwt(t: str = token, alg: str = alg) -> Any:
            signing_key = pyjwk_client.get_signing_key_from_jwt(t)
            return pyjwt.decode(
                t,
                signing_key,
                algorithms=[alg],
                audience=AUD,
                issuer=issuer,
                options={"require": ["exp", "iss", "aud"]},
            )["sub"]

        def with_authlib(t: str = token, j: JsonWebToken = authlib_jwt) -> Any:
            decoded = j.decode(t, authlib_keys, claims_options=authlib_options)
            decoded.validate()
            return decoded["sub"]

        def with_joserfc(t: str = token, alg: str = alg) -> Any:
            decoded = joserfc.jwt.decode(t, joserfc_keys, algorithms=[alg])
            registry.validate(decoded.claims)
            return decoded.claims["sub"]

        libs = {"bearerguard": ours, "PyJWT": with_pyjwt, "authlib": with_authlib, "joserfc": with_joserfc}
        for name, call in libs.items():
            if call() != "alice" or not refuses(lambda c=call, t=tampered: c(t)):  # type: ignore[misc]
                sys.exit(f"{name} did not accept the good {alg} token and refuse the tampered one")
        per_alg: dict[str, Any] = {}
        for name, call in libs.items():
            per_alg[name] = {"first_seen_us": median_first_seen_us(call, first_seen, first_n)}
        for name, call in libs.items():
            per_alg[name]["repeated_us"] = median_us(call, n)
        for name, call in libs.items():
            one, two = threads_ops(call, 1), threads_ops(call, 2)
            per_alg[name].update({"ops_1_thread": one, "ops_2_threads": two, "scaling": two / one})
        results[alg] = per_alg
        print(
            f"JWT {alg} first seen:",
            ", ".join(f"{k} {v['first_seen_us']:.1f} µs" for k, v in per_alg.items()),
            "| repeated:",
            ", ".join(f"{k} {v['repeated_us']:.2f} µs" for k, v in per_alg.items()),
            flush=True,
        )
    server.httpd.shutdown()
    return results


def start_server(path: str) -> tuple[subprocess.Popen[str], str]:
    if PIN and TASKSET:
        proc = subprocess.Popen([TASKSET, "-c", "0", path], stdout=subprocess.PIPE, text=True)
    else:
        print("note: no taskset (or one CPU): the introspection server and client are not pinned", flush=True)
        proc = subprocess.Popen([path], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if not line.startswith("listening on "):
        proc.kill()
        sys.exit(f"the introspection server did not start: {line!r}")
    return proc, line.removeprefix("listening on ")


def introspection_benchmarks(server: str, n: int) -> dict[str, Any]:
    proc, url = start_server(server)
    try:
        return _introspection(url, n)
    finally:
        proc.kill()


def _introspection(url: str, n: int) -> dict[str, Any]:
    endpoint = f"{url}/introspect"
    auth = ("bench", "bench-secret")
    form = {"token": "opaque-bench-token", "token_type_hint": "access_token"}
    common: dict[str, Any] = {
        "issuer": url,
        "audience": AUD,
        "discovery": False,
        "introspection_endpoint": endpoint,
        "client_id": "bench",
        "client_secret": "bench-secret",
    }
    uncached = bearerguard.Validator(**common, cache={"enabled": False})
    cached = bearerguard.Validator(**common)
    hx = httpx.Client()
    rq = requests.Session()

    def ours() -> Any:
        return uncached.validate("opaque-bench-token").subject

    def with_httpx() -> Any:
        r = hx.post(endpoint, data=form, auth=auth)
        r.raise_for_status()
        body = r.json()
        return body["sub"] if body.get("active") is True else None

    def with_requests() -> Any:
        r = rq.post(endpoint, data=form, auth=auth)
        r.raise_for_status()
        body = r.json()
        return body["sub"] if body.get("active") is True else None

    for name, call in {"bearerguard": ours, "httpx": with_httpx, "requests": with_requests}.items():
        if call() != "alice":
            sys.exit(f"{name} did not introspect the token")
    if not refuses(lambda: uncached.validate("revoked-token")):
        sys.exit("bearerguard accepted an inactive token")
    out: dict[str, Any] = {"pinned": PIN, "sequential": {}, "in_flight_16": {}}
    original = ",".join(str(c) for c in sorted(os.sched_getaffinity(0)))
    pin_self("1")
    for name, call in {"bearerguard": ours, "httpx": with_httpx, "requests": with_requests}.items():
        us = median_us(call, n)
        out["sequential"][name] = {"us": us, "ops": 1e6 / us}

    # 16 in flight: asyncio for bearerguard's awaitable and httpx.AsyncClient; 16 threads (one
    # Session each) for requests and for bearerguard's blocking call.
    total = n * 4

    async def gather_async(make: Callable[[], Any]) -> float:
        async def worker(count: int) -> None:
            for _ in range(count):
                await make()

        await asyncio.gather(*(worker(50) for _ in range(16)))  # warm-up
        best = []
        for _ in range(RUNS):
            start = time.perf_counter()
            await asyncio.gather(*(worker(total // 16) for _ in range(16)))
            best.append(total / (time.perf_counter() - start))
        return statistics.median(best)

    async def async_figures() -> dict[str, float]:
        async with httpx.AsyncClient(limits=httpx.Limits(max_connections=16)) as client:

            async def one_httpx() -> Any:
                r = await client.post(endpoint, data=form, auth=auth)
                return r.json()["active"]

            return {
                "bearerguard (asyncio)": await gather_async(lambda: uncached.validate_async("opaque-bench-token")),
                "httpx (AsyncClient)": await gather_async(one_httpx),
            }

    def threaded(make_call: Callable[[], Callable[[], object]]) -> float:
        samples = []
        with ThreadPoolExecutor(16) as pool:
            calls = list(pool.map(lambda _: make_call(), range(16)))
            for _ in range(RUNS):
                start = time.perf_counter()
                list(pool.map(lambda c: [c() for _ in range(total // 16)], calls))
                samples.append(total / (time.perf_counter() - start))
        return statistics.median(samples)

    def requests_caller() -> Callable[[], object]:
        session = requests.Session()
        return lambda: session.post(endpoint, data=form, auth=auth).json()["active"]

    for name, ops in asyncio.run(async_figures()).items():
        out["in_flight_16"][name] = {"ops": ops}
    out["in_flight_16"]["bearerguard (16 threads)"] = {"ops": threaded(lambda: ours)}
    out["in_flight_16"]["requests (16 threads)"] = {"ops": threaded(requests_caller)}
    pin_self(original)

    cached.validate("opaque-bench-token")

    async def hit_async() -> float:
        async def once() -> Any:
            return await cached.validate_async("opaque-bench-token")

        for _ in range(1000):
            await once()
        samples = []
        for _ in range(RUNS):
            start = time.perf_counter_ns()
            for _ in range(n * 10):
                await once()
            samples.append((time.perf_counter_ns() - start) / (n * 10) / 1000)
        return statistics.median(samples)

    out["cache_hit"] = {
        "sync": {"us": median_us(lambda: cached.validate("opaque-bench-token"), n)},
        "asyncio": {"us": asyncio.run(hit_async())},
    }
    print(
        "introspection:",
        ", ".join(f"{k} {v['ops']:.0f}/s" for k, v in out["sequential"].items()),
        "| 16 in flight:",
        ", ".join(f"{k} {v['ops']:.0f}/s" for k, v in out["in_flight_16"].items()),
        f"| cache hit {out['cache_hit']['sync']['us']:.2f} µs",
        flush=True,
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", required=True, help="the built introspection_server example")
    parser.add_argument("--out", required=True, help="where to write the JSON figures")
    parser.add_argument("-n", type=int, default=2000, help="calls per timed run")
    parser.add_argument("--first-n", type=int, default=500, help="first-seen tokens per timed run")
    args = parser.parse_args()
    figures = {
        "python": platform.python_version(),
        "versions": {
            p: version(p) for p in ["bearerguard", "PyJWT", "authlib", "joserfc", "cryptography", "httpx", "requests"]
        },
        "runs": RUNS,
        "first_seen_per_run": args.first_n,
        "jwt": jwt_benchmarks(args.n, args.first_n),
        "introspection": introspection_benchmarks(args.server, args.n),
    }
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(figures, f, indent=2)


if __name__ == "__main__":
    main()
