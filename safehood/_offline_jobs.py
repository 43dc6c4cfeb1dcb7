"""``safehood detect --jobs N``: the offline run over a recording split by site between N
worker processes, merged into the output one process writes.

Every worker reads the whole recording and takes only its sites' lines (skipping a line
costs its framing's decode, a few microseconds, against the tens a taken message costs; a
parent that split the lines would pay the same decode and then the copy to each worker).
The sites are dealt out by their number of registered devices; sites tied together (a
device of one site worn by a resident of another) go to the same worker, as no detector
state may be split.

What must be the same as one process makes it so: each worker's alert sink works on its
sites' own event time; the end of the recording (the newest event time of all sites) is
known only when every worker has read it, so each reports its own and waits for the
recording's; alert ids, numbered in order of raising, are placeholders in the workers and
numbered by the parent in the order one process would have raised them (by line, then
site, then order in the worker).
"""

from __future__ import annotations

import io
import multiprocessing
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path

from safehood._offline import (
    AlertSink,
    DetectSummary,
    OfflineRun,
    RaiseOrder,
    SiteShare,
    _counting,
    offline_alert_id,
)
from safehood.detectors import DetectorConfig
from safehood.protocol import Registry, write_jsonl


@dataclass(frozen=True, slots=True)
class _Job:
    registry: Registry
    input_path: Path
    config: DetectorConfig | None
    topic_prefix: str
    resolve_after_s: float | None
    share: SiteShare
    run: int


@dataclass(frozen=True, slots=True)
class _Result:
    lines: list[bytes]
    ids: list[str]  # each line's alert's (placeholder) id
    keys: dict[str, tuple[int, str, int]]
    summary: DetectSummary


def site_groups(registry: Registry) -> list[frozenset[str]]:
    """The registry's sites in groups that one process must run together: a site alone,
    unless a device of it belongs to a resident of another site's household."""
    parent = {site: site for site in registry.sites()}

    def root(site: str) -> str:
        while parent[site] != site:
            site = parent[site]
        return site

    for device in registry.devices.values():
        resident = registry.residents.get(device.resident) if device.resident else None
        home = registry.households.get(resident.household) if resident is not None else None
        if home is not None:
            parent[root(device.site)] = root(home.site)
    groups: dict[str, set[str]] = {}
    for site in parent:
        groups.setdefault(root(site), set()).add(site)
    return [frozenset(group) for group in groups.values()]


def partition_sites(registry: Registry, jobs: int) -> list[frozenset[str]]:
    """The registry's sites dealt out to at most ``jobs`` workers, the groups with most
    devices first, each to the worker with fewest devices so far."""
    devices = Counter(device.site for device in registry.devices.values())
    groups = sorted(site_groups(registry), key=lambda g: (-sum(devices[s] for s in g), min(g)))
    shares: list[set[str]] = [set() for _ in range(max(1, min(jobs, len(groups))))]
    loads = [0] * len(shares)
    for group in groups:
        lightest = loads.index(min(loads))
        shares[lightest] |= group
        loads[lightest] += sum(devices[s] for s in group)
    return [frozenset(share) for share in shares]


def detect_partitioned(
    registry: Registry,
    input_path: Path,
    shares: Sequence[frozenset[str]],
    *,
    config: DetectorConfig | None = None,
    topic_prefix: str,
    resolve_after_s: float | None,
    progress: Callable[[float], None] | None = None,
) -> tuple[list[bytes], DetectSummary]:
    """Run the detectors over a replay file in one worker process a share of sites; return
    the alerts as the JSON lines one process writes, and the summary it would print.

    ``progress`` is called with the bytes read since the last call (the workers' mean).
    """
    every = frozenset().union(*shares)
    jobs = [
        _Job(registry, input_path, config, topic_prefix, resolve_after_s,
             SiteShare(share, every - share, counts_unplaced=run == 0), run)
        for run, share in enumerate(shares)
    ]
    methods = multiprocessing.get_all_start_methods()
    # Forked, the workers start with the registry and the modules already loaded.
    context = multiprocessing.get_context("fork" if "fork" in methods else None)
    connections: list[Connection] = []
    workers = []
    for job in jobs:
        mine, theirs = context.Pipe()
        worker = context.Process(target=_work, args=(job, theirs), daemon=True)
        worker.start()
        theirs.close()
        connections.append(mine)
        workers.append(worker)
    try:
        results = _collect(connections, progress, len(jobs))
    except BaseException:
        # The others may wait for an end of the recording that will not come.
        for worker in workers:
            worker.kill()
        raise
    finally:
        for worker in workers:
            worker.join()
    return _merge(results)


def _collect(connections: list[Connection], progress: Callable[[float], None] | None,
             workers: int) -> list[_Result]:
    latest: dict[int, int | None] = {}
    results: dict[int, _Result] = {}
    index = {id(connection): run for run, connection in enumerate(connections)}
    pending = list(connections)
    while pending:
        for ready in wait(pending):
            assert isinstance(ready, Connection)
            run = index[id(ready)]
            try:
                kind, value = ready.recv()
            except EOFError:
                raise RuntimeError(f"detect worker {run} ended without its result") from None
            if kind == "read":
                if progress is not None:
                    progress(value / workers)
            elif kind == "latest":
                latest[run] = value
                if len(latest) == len(connections):
                    ends = [ms for ms in latest.values() if ms is not None]
                    end_ms = max(ends) if ends else None
                    for connection in connections:
                        connection.send(end_ms)
            elif kind == "result":
                results[run] = value
                pending.remove(ready)
            else:
                raise value
    return [results[run] for run in range(len(connections))]


def _work(job: _Job, connection: Connection) -> None:
    try:
        order = RaiseOrder(job.run)
        sink = AlertSink(job.registry, job.resolve_after_s, id_factory=order.next_id)
        run = OfflineRun(job.registry, config=job.config, topic_prefix=job.topic_prefix,
                         sink=sink, share=job.share, order=order)
        with open(job.input_path, "rb") as handle:
            run.feed(_counting(handle, lambda read: connection.send(("read", read))))
        connection.send(("latest", run.latest_ms))
        alerts, summary = run.finish(connection.recv())
        buffer = io.BytesIO()
        write_jsonl(buffer, alerts)
        connection.send(("result", _Result(buffer.getvalue().splitlines(),
                                           [alert.id for alert in alerts], order.keys, summary)))
    except BaseException as exc:  # handed to the parent, which raises it
        connection.send(("error", exc))
    finally:
        connection.close()


_PLACEHOLDER = re.compile(rb"~alert\d+\.\d+~")


def _merge(results: list[_Result]) -> tuple[list[bytes], DetectSummary]:
    keys = {placeholder: key for result in results for placeholder, key in result.keys.items()}
    ids = {placeholder: offline_alert_id(rank)
           for rank, placeholder in enumerate(sorted(keys, key=keys.__getitem__), 1)}

    def number(match: re.Match[bytes]) -> bytes:
        return ids[match[0].decode()].encode()

    numbered = [(ids[own], _PLACEHOLDER.sub(number, line)) for result in results
                for own, line in zip(result.ids, result.lines, strict=True)]
    # One process writes its alerts by id.
    lines = [line for _, line in sorted(numbered)]
    summary = DetectSummary()
    for result in results:
        part = result.summary
        summary.lines += part.lines
        summary.messages += part.messages
        summary.bad.update(part.bad)
        summary.duplicates += part.duplicates
        summary.late += part.late
        summary.alerts.update(part.alerts)
        summary.first_ms = _extreme(min, summary.first_ms, part.first_ms)
        summary.last_ms = _extreme(max, summary.last_ms, part.last_ms)
    return lines, summary


def _extreme(pick: Callable[[int, int], int], a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else pick(a, b)
