"""Metrics and health: `Validator.metrics()` / `health()`, the core's families merged over
validators, the prometheus_client collector, and the /metrics endpoint of the FastAPI example
(python/examples/fastapi_app.py) scraped after the demo's requests (tests/demo/requests.json)
against the real authorization server."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from bearerguard import UnavailableError, Validator, metric_families
from bearerguard._native import error_codes
from bearerguard.prometheus import BearerguardCollector, register
from conftest import DOWN_CONFIG, example_app

# The core's fixed label values (bearerguard::metrics); `issuer` comes from the config.
FIXED = {
    "outcome": {"accepted", *error_codes()},
    "source": {"none", "jwt", "introspection"},
    "tier": {"none", "hit", "miss", "negative"},
    "endpoint": {"discovery", "jwks", "introspection"},
    "result": {"ok", "http_error", "timeout", "connect", "transport", "too_large"},
    "fetch": {"introspection", "jwks"},
    "cache": {"introspection", "jwt"},
}


def decisions_by_outcome(text: str) -> Counter[str]:
    totals: Counter[str] = Counter()
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == "bearerguard_decisions_total":
                totals[s.labels["outcome"]] += int(s.value)
    return totals


def assert_labels_from_config_only(text: str, issuer: str) -> int:
    """Every label value of every bearerguard sample is `issuer` or a fixed name; returns how
    many samples were checked."""
    checked = 0
    for family in text_string_to_metric_families(text):
        assert family.name.startswith("bearerguard_"), family.name
        for s in family.samples:
            checked += 1
            for name, value in s.labels.items():
                if name == "issuer":
                    assert value == issuer, s
                elif name == "le":
                    assert value == "+Inf" or float(value) > 0, s
                else:
                    assert value in FIXED[name], s
    return checked


def test_the_example_app_answers_and_counts_the_demo_requests_per_outcome(
    auth_server: Any, demo_requests: list[tuple[dict[str, Any], str | None]]
) -> None:
    """The FastAPI app of `make demo` keeps the demo's contract (config from
    BEARERGUARD_CONFIG, a ready line, GET /orders requiring "write"), and its /metrics scrape
    counts each of the demo's requests under its outcome."""
    config = auth_server.config(leeway_secs=0, realm="orders")
    sent = demo_requests
    assert any(r["token"] == "down" for r, _ in sent) and any(r["token"] != "down" for r, _ in sent)
    scrapes = {}
    for app_config, down in ((config, False), (DOWN_CONFIG, True)):
        with example_app(app_config) as base:
            rows = [(r, value) for r, value in sent if (r["token"] == "down") == down]
            for r, value in rows:
                headers = {"Authorization": value} if value else {}
                assert httpx.get(f"{base}/orders", headers=headers, timeout=10).status_code == r["status"], r
            scrape = httpx.get(f"{base}/metrics")
            assert scrape.status_code == 200
            assert scrape.headers["content-type"].startswith("text/plain")
            expected = Counter(r["code"] or "accepted" for r, _ in rows)
            assert decisions_by_outcome(scrape.text) == expected
            assert assert_labels_from_config_only(scrape.text, app_config["issuer"]) > len(expected)
            scrapes[down] = scrape.text

    secrets = [value.removeprefix("Bearer ") for _, value in sent if value] + [config["client_secret"]]
    for text in scrapes.values():
        for secret in secrets:
            assert secret not in text
    # The calls to the authorization server: discovery, JWKS and introspection answered; the
    # unreachable one refused the connection.
    calls = {
        (s.labels["endpoint"], s.labels["result"])
        for f in text_string_to_metric_families(scrapes[False])
        for s in f.samples
        if s.name == "bearerguard_as_request_duration_seconds_count"
    }
    assert {("discovery", "ok"), ("jwks", "ok"), ("introspection", "ok")} <= calls
    assert 'endpoint="discovery",issuer="http://127.0.0.1:9",result="connect"' in scrapes[True]


def test_metrics_and_health_after_a_jwt(auth_server: Any) -> None:
    validator = Validator(**auth_server.config())
    token = auth_server.token("jwt", "read write")
    validator.validate(token)
    validator.validate(token)
    snapshot = validator.metrics()
    assert snapshot["issuer"] == auth_server.issuer
    accepted = {(d["source"], d["tier"]): d["count"] for d in snapshot["decisions"] if d["outcome"] == "accepted"}
    assert accepted == {("jwt", "miss"): 1, ("jwt", "hit"): 1}
    jwks = snapshot["jwks"]
    assert jwks is not None and jwks["loaded"] and jwks["fresh"] and jwks["keys"] >= 1
    assert (jwks["refreshes"], jwks["failures"]) == (1, 0)
    assert snapshot["latency_buckets"][0] == 0.001
    for call in snapshot["requests"]:
        assert len(call["buckets"]) == len(snapshot["latency_buckets"]) and call["buckets"][-1] <= call["count"]

    health = validator.health()
    assert health["ok"] is True
    (issuer,) = health["issuers"]
    assert issuer["issuer"] == auth_server.issuer and issuer["endpoints_known"] is True
    assert issuer["jwks"] is not None and issuer["jwks"]["loaded"] and issuer["jwks"]["fresh"]
    assert issuer["last_answer_at"] is not None and issuer["last_answer_age_seconds"] is not None
    assert issuer["last_failure"] is None


def test_health_reports_an_unreachable_authorization_server() -> None:
    validator = Validator(**DOWN_CONFIG)
    assert validator.health()["issuers"][0]["last_failure"] is None
    with pytest.raises(UnavailableError):
        validator.validate("some-opaque-token")
    health = validator.health()
    assert health["ok"] is False
    (issuer,) = health["issuers"]
    assert issuer["endpoints_known"] is False and issuer["last_answer_at"] is None
    failure = issuer["last_failure"]
    assert failure is not None and (failure["endpoint"], failure["result"]) == ("discovery", "connect")
    assert failure["at"] > 1.7e9
    assert [(d["outcome"], d["count"]) for d in validator.metrics()["decisions"]] == [("unavailable", 1)]


def test_families_of_two_validators_are_merged_by_the_core(auth_server: Any) -> None:
    good = Validator(**auth_server.config())
    down = Validator(**DOWN_CONFIG)
    good.validate(auth_server.token("jwt", "read"))
    with pytest.raises(UnavailableError):
        down.validate("some-opaque-token")
    families = metric_families(good, down)
    names = [f["name"] for f in families]
    assert len(names) == len(set(names)) and "bearerguard_decisions_total" in names
    assert [f["name"] for f in metric_families(good)] == names, "every family is listed, even empty"
    decisions = next(f for f in families if f["name"] == "bearerguard_decisions_total")
    assert decisions["kind"] == "counter"
    assert {s["labels"]["issuer"] for s in decisions["samples"]} == {auth_server.issuer, DOWN_CONFIG["issuer"]}
    with pytest.raises(TypeError):
        metric_families(good, "not a validator")  # type: ignore[arg-type]


def test_the_collector_translates_every_family(auth_server: Any) -> None:
    good = Validator(**auth_server.config())
    down = Validator(**DOWN_CONFIG)
    good.validate(auth_server.token("jwt", "read"))
    with pytest.raises(UnavailableError):
        down.validate("some-opaque-token")
    registry = CollectorRegistry()
    collector = register(good, down, registry=registry)
    assert isinstance(collector, BearerguardCollector)
    text = generate_latest(registry).decode()
    core = {f["name"]: f for f in metric_families(good, down)}
    parsed = {f.name: f for f in text_string_to_metric_families(text)}
    # prometheus_client names a counter family without `_total`.
    assert {n.removesuffix("_total") if core[n]["kind"] == "counter" else n for n in core} == set(parsed)
    assert text.count("# TYPE bearerguard_decisions_total counter") == 1
    for name, family in core.items():
        metric = parsed[name.removesuffix("_total") if family["kind"] == "counter" else name]
        assert metric.type == family["kind"] and metric.documentation == family["help"]
        for s in family["samples"]:
            mine = [p for p in metric.samples if all(p.labels.get(k) == v for k, v in s["labels"].items())]
            if family["kind"] != "histogram":
                (one,) = mine
                # The JWKS's age grows between the two reads.
                assert one.value == s["value"] or name == "bearerguard_jwks_age_seconds"
                continue
            by_name = {(p.name, p.labels.get("le")): p.value for p in mine}
            assert by_name[(name + "_count", None)] == s["value"] == by_name[(name + "_bucket", "+Inf")]
            assert by_name[(name + "_sum", None)] == pytest.approx(s["histogram"]["sum"])
            for bound, count in s["histogram"]["buckets"]:
                assert by_name[(name + "_bucket", str(bound))] == count
    assert_labels_from_config_only(text.replace(DOWN_CONFIG["issuer"], auth_server.issuer), auth_server.issuer)
    registry.unregister(collector)
    assert generate_latest(registry) == b""
    with pytest.raises(TypeError):
        BearerguardCollector()


def test_the_collector_without_prometheus_client_says_what_to_install() -> None:
    code = "import sys; sys.modules['prometheus_client'] = None; import bearerguard.prometheus"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode != 0
    assert "ImportError: bearerguard.prometheus needs prometheus_client" in run.stderr
    assert "pip install 'bearerguard[prometheus]'" in run.stderr
