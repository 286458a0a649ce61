"""Writes BENCHMARKS.md from one `make bench` run: criterion's medians for the Rust core,
target/bench/rust.json (memory, scaling), python.json and node.json (the comparisons).

    python3 tests/bench/report.py --root . > BENCHMARKS.md

Standard library only. Ratios are peer time / our time (or our ops/s / peer ops/s): above 1
means bearerguard is faster. The goals are those of the performance issue; a figure is a
measurement of this run, never an assertion.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
from pathlib import Path
from typing import Any


def criterion(root: Path) -> dict[str, float]:
    """Median ns per iteration, by benchmark title."""
    out: dict[str, float] = {}
    for bench in (root / "target" / "criterion").glob("*/new"):
        try:
            title = json.loads((bench / "benchmark.json").read_text())["title"]
            estimates = json.loads((bench / "estimates.json").read_text())
        except (OSError, ValueError, KeyError):
            continue
        out[title] = estimates["median"]["point_estimate"]
    return out


def command(*args: str) -> str:
    try:
        return subprocess.run(args, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def machine() -> list[str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "unknown"
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{kib / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return [
        f"- CPU: {cpu}, {os.cpu_count()} logical cores; memory {mem}; {platform.system()} {platform.release()}",
        f"- {command('rustc', '--version')}; Python {platform.python_version()}; Node {command('node', '--version')}",
    ]


def us(ns: float) -> str:
    return f"{ns / 1000:.2f}"


def ratio(value: float, goal: float | None = None) -> str:
    text = f"{value:.2f}×"
    if goal is not None:
        text += " ✅" if value >= goal else f" ❌ (goal {goal:g}×)"
    return text


def rust_section(c: dict[str, float], extra: dict[str, Any]) -> list[str]:
    lines = [
        "## Rust core (criterion, median)",
        "",
        "| path | µs/op | ops/s | vs raw aws-lc-rs verify (key parsed once) |",
        "|---|---:|---:|---:|",
    ]
    for alg in ["RS256", "ES256", "EdDSA"]:
        raw = c.get(f"raw aws-lc-rs {alg} verify (key parsed once)")
        ours = c.get(f"validate JWT {alg} (keys cached)")
        if raw is None or ours is None:
            continue
        lines.append(f"| raw aws-lc-rs {alg} verify (the floor) | {us(raw)} | {1e9 / raw:,.0f} | 1.00× |")
        over = ours / raw
        mark = " ✅" if over <= 1.3 else " ❌ (goal ≤ 1.3×)"
        lines.append(f"| `validate` JWT {alg}, key cached | {us(ours)} | {1e9 / ours:,.0f} | {over:.2f}×{mark} |")
    for title in [
        "validate opaque (cache hit)",
        "validate opaque (cache miss, loopback introspection)",
        "burst: 64 concurrent validations of one new opaque token",
    ]:
        if title in c:
            lines.append(f"| {title} | {us(c[title])} | {1e9 / c[title]:,.0f} | |")
    scaling = extra.get("scaling")
    if scaling:
        lines += [
            "",
            (
                f"Scaling ({scaling['alg']} `validate_now`, key cached): "
                f"{scaling['ops_1_thread']:,.0f} ops/s on 1 thread, {scaling['ops_2_threads']:,.0f} on 2 "
                f"= **{scaling['scaling']:.2f}×**."
            ),
        ]
    memory = extra.get("memory")
    if memory:
        lines += [
            "",
            (
                f"Memory: {memory['entries']:,} cached introspection verdicts (distinct active tokens, "
                f"9 claims each): RSS {memory['rss_before_kib'] / 1024:.1f} → {memory['rss_after_kib'] / 1024:.1f} "
                f"MiB, peak {memory['peak_rss_kib'] / 1024:.1f} MiB, **{memory['bytes_per_entry']:,} bytes per "
                "entry** (claims map, typed fields, cache key and moka's bookkeeping, malloc overhead included)."
            ),
        ]
    return [*lines, ""]


def jwt_table(title: str, jwt: dict[str, Any], goals: dict[str, float], scaling: bool) -> list[str]:
    peers = [p for p in next(iter(jwt.values())) if p != "bearerguard"]
    head = "| alg | bearerguard µs | " + " | ".join(f"{p} µs | ×{p}" for p in peers)
    head += " | 2 threads vs 1 (ours / " + " / ".join(peers) + ") |" if scaling else " |"
    cols = 2 + 2 * len(peers) + (1 if scaling else 0)
    lines = [title, "", head, "|" + "---|" * cols]
    for alg, libs in jwt.items():
        ours = libs["bearerguard"]["us"]
        row = f"| {alg} | {ours:.1f} |"
        for p in peers:
            if p in libs:
                row += f" {libs[p]['us']:.1f} | {ratio(libs[p]['us'] / ours, goals.get(p))} |"
            else:
                row += " n/a | — |"
        if scaling:
            row += " " + " / ".join(f"{libs[p]['scaling']:.2f}" for p in ["bearerguard", *peers] if p in libs) + " |"
        lines.append(row)
    return [*lines, ""]


def introspection_table(title: str, data: dict[str, Any], pairs: dict[str, tuple[str, str]]) -> list[str]:
    """`pairs`: peer name -> (the peer's 16-in-flight entry, ours run the same way)."""
    seq, par = data["sequential"], data["in_flight_16"]
    lines = [
        title,
        "",
        "| client | sequential req/s | ours ÷ peer | 16 in flight req/s | ours ÷ peer (same concurrency model) |",
        "|---|---:|---:|---:|---:|",
        f"| bearerguard | {seq['bearerguard']['ops']:,.0f} | | "
        + ", ".join(f"{v['ops']:,.0f} ({k})" for k, v in par.items() if k.startswith("bearerguard"))
        + " | |",
    ]
    for peer, (peer_key, ours_key) in pairs.items():
        s, p, o = seq[peer]["ops"], par[peer_key]["ops"], par[ours_key]["ops"]
        lines.append(
            f"| {peer} | {s:,.0f} | {ratio(seq['bearerguard']['ops'] / s, 3)} | {p:,.0f} ({peer_key}) | "
            f"{ratio(o / p, 3)} vs {ours_key} |"
        )
    hits = data["cache_hit"]
    lines += ["", "Cache hit: " + ", ".join(f"{k} {v['us']:.2f} µs" for k, v in hits.items()) + " (goal ≤ 3 µs).", ""]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", default=".")
    root = Path(parser.parse_args().root)
    bench = root / "target" / "bench"

    def load(name: str) -> dict[str, Any]:
        path = bench / name
        return json.loads(path.read_text()) if path.exists() else {}

    rust, py, node = load("rust.json"), load("python.json"), load("node.json")
    lines = [
        "# Benchmarks",
        "",
        (
            "Written by `make bench` (tests/bench/report.py); every figure is from one run on the machine "
            "below, medians over several runs each. Ratios are how many times faster bearerguard is "
            "than the peer (peer time / our time); ✅/❌ mark the goals of the performance issue."
        ),
        "",
        *machine(),
    ]
    if py:
        lines.append("- Python peers: " + ", ".join(f"{k} {v}" for k, v in py["versions"].items()))
    if node:
        lines.append("- Node peers: " + ", ".join(f"{k} {v}" for k, v in node["versions"].items()))
    lines.append("")
    lines += rust_section(criterion(root), rust)
    if py:
        lines += jwt_table(
            "## Python: JWT, key cached, full checks (µs per validation)",
            py["jwt"],
            {"PyJWT": 5, "authlib": 2},
            scaling=True,
        )
        lines += introspection_table(
            "## Python: introspection, cache off",
            py["introspection"],
            {
                "httpx": ("httpx (AsyncClient)", "bearerguard (asyncio)"),
                "requests": ("requests (16 threads)", "bearerguard (16 threads)"),
            },
        )
    if node:
        lines += jwt_table(
            "## Node: JWT, key cached, full checks (µs per awaited validation)",
            node["jwt"],
            {"jose": 4, "jsonwebtoken": 1.3},
            scaling=False,
        )
        lines += introspection_table(
            "## Node: introspection, cache off", node["introspection"], {"fetch": ("fetch", "bearerguard")}
        )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
