"""What a validator counted and how healthy it is, as typed dicts: the shapes of
`Validator.metrics()`, `Validator.health()` and `metric_families(*validators)`, key for key the
core's `bearerguard::metrics` structs (their docs say what each field means).

Every label value is a configured issuer or one of the core's fixed names: outcomes
(`"accepted"` or an error code), sources (`none`, `jwt`, `introspection`), tiers (`none`,
`hit`, `miss`, `negative`), endpoints (`discovery`, `jwks`, `introspection`) and results (`ok`,
`http_error`, `timeout`, `connect`, `transport`, `too_large`). Nothing from a token is a label.

    families = metric_families(validator)          # what bearerguard.prometheus translates
    if not validator.health()["ok"]: ...           # endpoints unknown, JWKS stale, AS failing
"""

from __future__ import annotations

from typing import Literal, TypedDict

from bearerguard._native import metric_families

__all__ = [
    "CallFailure",
    "CallStats",
    "DecisionCount",
    "Health",
    "HistogramSample",
    "IssuerHealth",
    "Joins",
    "JwksStats",
    "MetricFamily",
    "MetricSample",
    "MetricsSnapshot",
    "metric_families",
]


class DecisionCount(TypedDict):
    """Decisions with one combination of labels."""

    outcome: str
    source: str
    tier: str
    count: int


class CallStats(TypedDict):
    """Calls to one endpoint of the authorization server that ended one way."""

    endpoint: str
    result: str
    count: int
    sum_seconds: float
    # Cumulative counts per bound of `MetricsSnapshot["latency_buckets"]` (+Inf is `count`).
    buckets: list[int]


class JwksStats(TypedDict):
    """The JWKS of one issuer."""

    loaded: bool
    fresh: bool
    keys: int
    age_seconds: float | None
    refreshes: int
    failures: int


class Joins(TypedDict):
    """Callers that joined a fetch another caller had started."""

    introspection: int
    jwks: int


class MetricsSnapshot(TypedDict):
    """What `Validator.metrics()` returns."""

    issuer: str
    decisions: list[DecisionCount]
    requests: list[CallStats]
    latency_buckets: list[float]
    jwks: JwksStats | None
    joins: Joins
    cached_verdicts: int
    remembered_jwts: int


class CallFailure(TypedDict):
    """The last failed call to the authorization server."""

    endpoint: str
    result: str
    # Seconds since the Unix epoch.
    at: float


class IssuerHealth(TypedDict):
    """The health of one issuer."""

    issuer: str
    ok: bool
    endpoints_known: bool
    jwks: JwksStats | None
    last_answer_at: float | None
    last_answer_age_seconds: float | None
    last_failure: CallFailure | None


class Health(TypedDict):
    """What `Validator.health()` returns: `ok` when every issuer is."""

    ok: bool
    issuers: list[IssuerHealth]


class HistogramSample(TypedDict):
    """A histogram sample's buckets, `[upper bound, cumulative count]` without `+Inf` (whose
    count is the sample's `value`), and its sum."""

    buckets: list[list[float]]
    sum: float


class _Sample(TypedDict):
    labels: dict[str, str]
    value: float


# `histogram` only in a histogram's samples (NotRequired needs Python 3.11).
class MetricSample(_Sample, total=False):
    """One sample of a family: its labels and value (a histogram's count)."""

    histogram: HistogramSample


class MetricFamily(TypedDict):
    """One Prometheus metric family, as the core defines it."""

    name: str
    help: str
    kind: Literal["counter", "gauge", "histogram"]
    samples: list[MetricSample]
