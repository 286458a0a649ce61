"""A prometheus_client collector over one or more validators (`pip install bearerguard[prometheus]`).

    from prometheus_client import start_http_server
    from bearerguard.prometheus import register

    register(validator)            # into prometheus_client's default REGISTRY
    start_http_server(9100)

Each scrape reads the validators' counters once (`bearerguard.metric_families`: names, help
texts, kinds and labels are the core's, merged over the validators by the core) and translates
every family into prometheus_client's counter, gauge or histogram family; nothing is counted
twice and nothing is named here.
"""

from __future__ import annotations

from collections.abc import Iterator

try:
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
    from prometheus_client.registry import REGISTRY, Collector, CollectorRegistry
except ImportError as e:  # pragma: no cover - exercised in a subprocess without the package
    raise ImportError(
        "bearerguard.prometheus needs prometheus_client: pip install 'bearerguard[prometheus]' "
        "(or pip install prometheus-client)"
    ) from e

from bearerguard._native import Validator, metric_families
from bearerguard.metrics import MetricFamily

__all__ = ["BearerguardCollector", "register"]


class BearerguardCollector(Collector):
    """The metric families of `validators`, read at each scrape."""

    def __init__(self, *validators: Validator) -> None:
        if not validators:
            raise TypeError("BearerguardCollector needs at least one Validator")
        self._validators = validators

    def collect(self) -> Iterator[Metric]:
        for family in metric_families(*self._validators):
            yield _translate(family)


def _translate(family: MetricFamily) -> Metric:
    """One core family as prometheus_client's: the same name, help, labels and values."""
    name, doc, samples = family["name"], family["help"], family["samples"]
    # Every sample of a family has the same label names (the core's fixed set for it).
    names = list(samples[0]["labels"]) if samples else []
    metric: CounterMetricFamily | GaugeMetricFamily | HistogramMetricFamily
    if family["kind"] == "histogram":
        metric = HistogramMetricFamily(name, doc, labels=names)
        for s in samples:
            h = s["histogram"]
            # The bounds are small positive floats: repr is what prometheus_client writes for them.
            buckets = [(repr(float(bound)), count) for bound, count in h["buckets"]]
            buckets.append(("+Inf", s["value"]))
            metric.add_metric([s["labels"][n] for n in names], buckets, h["sum"])
        return metric
    # prometheus_client names a counter without its `_total` and adds it back to the sample.
    plain = CounterMetricFamily if family["kind"] == "counter" else GaugeMetricFamily
    metric = plain(name, doc, labels=names)
    for s in samples:
        metric.add_metric([s["labels"][n] for n in names], s["value"])
    return metric


def register(*validators: Validator, registry: CollectorRegistry = REGISTRY) -> BearerguardCollector:
    """Registers a collector over `validators` with `registry` (prometheus_client's default
    one unless given) and returns it (`registry.unregister(collector)` removes it)."""
    collector = BearerguardCollector(*validators)
    registry.register(collector)
    return collector
