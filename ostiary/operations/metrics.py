"""`/_ostiary/metrics`: this process's metrics in Prometheus's text format, unauthenticated, no secrets.

Requests by service, operation and HTTP status, with a latency histogram; the engine's decisions by
outcome; cache lookups (hits and misses) of the caches on the request path; change notifications heard
from other nodes and their lag; the store's connection pool. Labels come only from bounded sets (the
services' models, HTTP statuses, decision outcomes): nothing a client writes becomes a label value.

With `serve --workers N` the workers count into files of one folder (prometheus_client's multiprocess
mode, `PROMETHEUS_MULTIPROC_DIR`, set by `serve` for them): a scrape, whichever worker takes it, sums
every worker's requests, latencies, decisions and notifications, those of a worker that died included;
the readings taken at scrape time (cache lookups, the store's pool, the listener) are the answering
worker's own.
"""

from __future__ import annotations

import glob
import os
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ostiary.operations import logs, request_info
from ostiary.store.db import Database

PATH = "/_ostiary/metrics"
MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"  # prometheus_client reads it when it is first imported
CONTENT_TYPE = b"text/plain; version=0.0.4; charset=utf-8"
_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_LAG_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0, 5.0)
_UNKNOWN = request_info.UNKNOWN

REGISTRY = CollectorRegistry(auto_describe=True)
REQUESTS = Counter(
    "ostiary_requests",
    "HTTP requests answered, by service, operation and status",
    ["service", "operation", "status"],
    registry=REGISTRY,
)
LATENCY = Histogram(
    "ostiary_request_duration_seconds",
    "Time from a request's arrival to the end of its answer",
    ["service", "operation"],
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)
DECISIONS = Counter(
    "ostiary_decisions", "Authorization decisions of the engine, by outcome", ["outcome"], registry=REGISTRY
)
NOTIFICATIONS = Counter(
    "ostiary_notifications", "Change notifications heard from the nodes, by kind", ["kind"], registry=REGISTRY
)
NOTIFICATION_LAG = Histogram(
    "ostiary_notification_lag_seconds",
    "Time from a change's commit on a node to this node applying it (wall clocks of both)",
    buckets=_LAG_BUCKETS,
    registry=REGISTRY,
)
_OUTCOMES = frozenset({"Allow", "ExplicitDeny", "ImplicitDeny"})


# The labelled children, by their labels (`labels()` takes a lock and builds a tuple each call). The
# labels come from bounded sets, so these stay small; cleared past _CHILDREN_KEPT all the same.
_CHILDREN_KEPT = 4096
_decision_counters: dict[str, Any] = {}
_request_counters: dict[tuple[str, str, int], Any] = {}
_latencies: dict[tuple[str, str], Any] = {}


def _child(children: dict[Any, Any], key: Any, make: Callable[[], Any]) -> Any:
    found = children.get(key)
    if found is None:
        if len(children) >= _CHILDREN_KEPT:
            children.clear()
        found = children[key] = make()
    return found


def decided(outcome: str) -> None:
    """Count one decision of the engine (Allow, ExplicitDeny or ImplicitDeny)."""
    label = outcome if outcome in _OUTCOMES else _UNKNOWN
    _child(_decision_counters, label, lambda: DECISIONS.labels(label)).inc()


def heard(kind: str, lag_seconds: float) -> None:
    """Count a change notification heard from a node (this one included), and how long it took."""
    NOTIFICATIONS.labels(kind).inc()
    NOTIFICATION_LAG.observe(lag_seconds)


Send = Callable[[dict[str, Any]], Awaitable[None]]


def watch(send: Send) -> Send:
    """`send` for one request, counting, timing and logging it when its answer ends (call in the
    request's own task: what its stages note goes to this request only)."""
    call = request_info.begin()
    began = time.perf_counter()
    status = 0

    async def watched(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = int(message["status"])
        await send(message)
        if message["type"] == "http.response.body" and not message.get("more_body"):
            seconds = time.perf_counter() - began
            service, operation = call.service, call.operation
            latency = _child(_latencies, (service, operation), lambda: LATENCY.labels(service, operation))
            latency.observe(seconds)
            key = (service, operation, status)
            _child(_request_counters, key, lambda: REQUESTS.labels(service, operation, str(status))).inc()
            logs.answered(call, status, seconds)

    return watched


def takes(scope: dict[str, Any]) -> bool:
    """Whether this is a scrape: GET of /_ostiary/metrics."""
    return bool(scope["path"] == PATH and scope["method"] == "GET")


async def answer(send: Send) -> None:
    """Answer a scrape that `takes` took."""
    request_info.note("ostiary", "Metrics")
    payload = generate_latest(_scraped())
    headers = [(b"content-type", CONTENT_TYPE), (b"content-length", str(len(payload)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


def _scraped() -> CollectorRegistry:
    """What a scrape reads: this process's registry, or with several workers every worker's counts
    (their files) and this worker's readings."""
    if not os.environ.get(MULTIPROCESS_ENV):
        return REGISTRY
    registry = CollectorRegistry()
    _WorkerCounts(registry)  # type: ignore[no-untyped-call]  # untyped library
    for readings in _readings:
        registry.register(readings)
    return registry


class _WorkerCounts(multiprocess.MultiProcessCollector):
    """The workers' counts, read from their files, less a file a worker is still making: a worker makes
    its file empty before it sizes it, and prometheus_client reads an empty file as a broken one (a
    scrape at that moment failed with struct.error)."""

    def collect(self) -> Any:
        files = [path for path in glob.glob(os.path.join(self._path, "*.db")) if _size(path) > 0]
        return self.merge(files, accumulate=True)  # type: ignore[no-untyped-call]  # untyped library


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:  # gone meanwhile
        return 0


def prepare_workers(folder: Path) -> None:
    """Set up the folder the workers about to start count into (emptied of an earlier run's files),
    named in the environment they inherit; call before they start."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    for old in folder.glob("*.db"):
        old.unlink()
    os.environ[MULTIPROCESS_ENV] = str(folder)


class _Readings(Collector):
    """What is read at scrape time: the caches' counters, the listener's state, the store's pool."""

    def __init__(self, db: Database, listener: Any) -> None:
        self._db = db
        self._listener = listener

    def collect(self) -> Iterator[Metric]:
        from ostiary import enforce
        from ostiary.auth import authenticate
        from ostiary.store import accounts

        lookups = CounterMetricFamily(
            "ostiary_cache_lookups", "Lookups of the request path's caches", labels=["cache", "result"]
        )
        counts: tuple[tuple[str, int, int], ...] = (
            ("policy_sets", enforce.policy_sets.hits, enforce.policy_sets.misses),
            ("key_owners", authenticate.key_owners.hits, authenticate.key_owners.misses),
            ("account_epochs", accounts.RECENT_EPOCH_LOOKUPS[0], accounts.RECENT_EPOCH_LOOKUPS[1]),
        )
        for name, hits, misses in counts:
            lookups.add_metric([name, "hit"], hits)
            lookups.add_metric([name, "miss"], misses)
        yield lookups
        pool = GaugeMetricFamily("ostiary_store_pool", "The store's connection pool", labels=["state"])
        for state, value in self._db.pool_status().items():
            pool.add_metric([state], value)
        yield pool
        if self._listener is not None:
            yield GaugeMetricFamily(
                "ostiary_notify_connected",
                "1 while this node listens for other nodes' changes; 0 while it falls back to version checks",
                value=1 if self._listener.is_connected else 0,
            )


_readings: list[_Readings] = []


def read_from(db: Database, listener: Any) -> None:
    """Read the pool of `db` and the state of `listener` (None on SQLite) at each scrape."""
    for old in _readings:
        REGISTRY.unregister(old)
    _readings[:] = [_Readings(db, listener)]
    REGISTRY.register(_readings[0])
