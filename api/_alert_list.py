"""Listing alerts in the order the dashboard wants: open first, then most severe, then
newest; paged. Scopes that the alert query cannot express (a family's residents) are
applied after the query, over the few alerts of their homes."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from safehood.alerting import AlertManager, AlertQuery
from safehood.protocol import Alert, AlertStatus

OPEN = (AlertStatus.FIRING, AlertStatus.ACKNOWLEDGED)
CLOSED = (AlertStatus.RESOLVED,)


def list_alerts(manager: AlertManager, base: AlertQuery, *, limit: int, offset: int,
                keep: Callable[[Alert], bool] | None = None) -> tuple[list[Alert], int]:
    """One page of the alerts matching ``base`` (its limit, offset and order are ignored)
    that ``keep`` accepts, and how many there are in all."""
    wanted = base.statuses or (*OPEN, *CLOSED)
    parts = [tuple(s for s in group if s in wanted) for group in (OPEN, CLOSED)]
    queries = [dataclasses.replace(base, statuses=p, order="severity", limit=None, offset=0)
               for p in parts if p]
    if keep is not None:
        found = [a for q in queries for a in manager.list(q) if keep(a)]
        return found[offset:offset + limit], len(found)
    page: list[Alert] = []
    total = 0
    skip = offset
    for query in queries:
        n = manager.count(query)
        total += n
        if skip >= n:
            skip -= n
            continue
        room = limit - len(page)
        if room > 0:
            page.extend(manager.list(dataclasses.replace(query, limit=room, offset=skip)))
        skip = 0
    return page, total
