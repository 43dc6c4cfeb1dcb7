"""Reads from InfluxDB with InfluxQL on ``/query`` (1.x, 2.x through DBRP, 3.x)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

import httpx

from safehood.protocol.const import MAX_TS_MS, MIN_TS_MS

from ._base import StoredReading, StoreError
from ._fields import read_fields
from .const import COUNT_FIELD


def quote_string(value: str) -> str:
    """An InfluxQL string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def quote_identifier(value: str) -> str:
    """An InfluxQL identifier (database, measurement, field)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _is_retryable_status(status: int) -> bool:
    return status == 429 or status >= 500


def _http_error(response: httpx.Response, url: str) -> StoreError:
    try:
        detail = response.json().get("error") or response.text
    except ValueError:
        detail = response.text
    detail = str(detail).strip()[:300] or response.reason_phrase
    return StoreError(
        f"InfluxDB at {url} answered {response.status_code}: {detail}",
        retryable=_is_retryable_status(response.status_code),
    )


class InfluxQLReader:
    """The read side of the InfluxDB store: queries over httpx, errors as StoreError.

    ``database``/``retention_policy`` come from the bucket: ``db`` or ``db/rp`` (1.x), the
    bucket name mapped by DBRP (2.x), or the database (3.x). Thread safe.
    """

    def __init__(
        self, url: str, token: str | None, database: str, retention_policy: str | None,
        timeout_s: float,
    ) -> None:
        self.url = url.rstrip("/")
        self.database = database
        self.retention_policy = retention_policy
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Token {token}"
        self._http = httpx.Client(base_url=self.url, headers=headers, timeout=timeout_s)

    def _from(self) -> str:
        # A regex over the measurements: a device kind added to the contract later is found
        # too; the tag conditions keep out any other data sharing the bucket.
        if self.retention_policy:
            database = quote_identifier(self.database)
            return f"{database}.{quote_identifier(self.retention_policy)}./.*/"
        return "/.*/"

    def _get(self, path: str, params: dict[str, str] | None = None) -> httpx.Response:
        return self._send("get", path, params=params)

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return self._http.request(method, path, **kwargs)
        except httpx.TimeoutException as exc:
            raise StoreError(f"InfluxDB at {self.url} timed out: {exc}", retryable=True) from None
        except httpx.HTTPError as exc:
            raise StoreError(
                f"InfluxDB at {self.url} is unreachable: {exc}", retryable=True
            ) from None

    def run(self, statement: str) -> list[dict[str, Any]]:
        """Run one InfluxQL statement; return its series (``name``, ``tags``, ``columns``,
        ``values``). Times are epoch milliseconds."""
        params = {"db": self.database, "q": statement, "epoch": "ms"}
        if self.retention_policy:
            params["rp"] = self.retention_policy
        response = self._get("/query", params)
        if response.status_code >= 300:
            raise _http_error(response, self.url)
        try:
            body = response.json()
        except ValueError:
            raise StoreError(
                f"InfluxDB at {self.url} answered with something that is not JSON: "
                f"{response.text[:200]!r}",
                retryable=False,
            ) from None
        series: list[dict[str, Any]] = []
        for result in body.get("results", []):
            if "error" in result:
                raise StoreError(f"InfluxDB refused the query: {result['error']}", retryable=False)
            series.extend(result.get("series", []))
        if "error" in body:
            raise StoreError(f"InfluxDB refused the query: {body['error']}", retryable=False)
        return series

    def delete(self, condition: str, org: str, bucket: str, predicate: str,
               stop_ms: int | None) -> None:
        """Delete points: through InfluxDB 2's ``/api/v2/delete`` (``predicate``, times
        before ``stop_ms``), or where that does not exist (1.x before 1.8) with InfluxQL
        ``DELETE WHERE condition``."""
        stop = datetime.fromtimestamp((stop_ms if stop_ms is not None else MAX_TS_MS) / 1000, UTC)
        body = {"start": "1970-01-01T00:00:00Z",
                "stop": stop.isoformat(timespec="milliseconds").replace("+00:00", "Z")}
        if predicate:
            body["predicate"] = predicate
        response = self._send("post", "/api/v2/delete", params={"org": org, "bucket": bucket},
                              json=body)
        if response.status_code != 404:
            if response.status_code >= 300:
                raise _http_error(response, self.url)
            return
        params = {"db": self.database, "q": f"DELETE WHERE {condition}"}
        if self.retention_policy:
            params["rp"] = self.retention_policy
        response = self._send("post", "/query", params=params)
        if response.status_code >= 300:
            raise _http_error(response, self.url)
        for result in response.json().get("results", []):
            if "error" in result:
                raise StoreError(f"InfluxDB refused the delete: {result['error']}",
                                 retryable=False)

    def ping(self) -> bool:
        """True when ``/ping`` answers 2xx."""
        try:
            return self._get("/ping").is_success
        except StoreError:
            return False

    def check(self) -> None:
        """Raise :class:`StoreError` with the reason unless the database can be queried."""
        response = self._get("/ping")
        if not response.is_success:
            raise _http_error(response, self.url)
        # A SELECT, not SHOW: InfluxDB 1.x answers SHOW on a missing database with nothing.
        self.run(f"SELECT * FROM {self._from()} WHERE time >= now() - 1s LIMIT 1")

    def query(
        self, device_id: str, start_ms: int, end_ms: int, limit: int,
        channels: Collection[str] | None = None,
    ) -> list[StoredReading]:
        if limit <= 0:
            raise StoreError(f"limit must be positive, not {limit}", retryable=False)
        if start_ms >= end_ms or (channels is not None and not channels):
            return []
        only = ""
        if channels is not None:
            only = " AND (" + " OR ".join(f"channel = {quote_string(c)}" for c in sorted(channels)) + ")"
        # LIMIT applies per series (measurement x tag set); the merge below cuts to limit.
        statement = (
            f"SELECT * FROM {self._from()} WHERE device_id = {quote_string(device_id)}"
            f" AND time >= {int(start_ms)}ms AND time < {int(end_ms)}ms{only}"
            f" GROUP BY * ORDER BY time ASC LIMIT {int(limit)}"
        )
        readings: list[tuple[tuple[int, str, int], StoredReading]] = []
        for series in self.run(statement):
            tags: dict[str, str] = series.get("tags") or {}
            columns: list[str] = series["columns"]
            for values in series["values"]:
                row = dict(zip(columns, values, strict=True))
                ts_ms = int(row.pop("time"))
                row.pop(COUNT_FIELD, None)
                fields = read_fields(row)
                seq = fields.get("seq")
                reading = StoredReading(
                    ts_ms=ts_ms, site=tags.get("site", ""),
                    device_id=tags.get("device_id", device_id),
                    kind=tags.get("kind") or None, channel=tags.get("channel", ""),
                    fields=fields, household=tags.get("household") or None,
                )
                order = (ts_ms, reading.channel, seq if isinstance(seq, int) else -1)
                readings.append((order, reading))
        readings.sort(key=lambda item: item[0])
        return [reading for _, reading in readings[:limit]]

    def count(self, site: str | None, channel: str | None) -> int:
        conditions = [f"time >= {MIN_TS_MS}ms", f"time < {MAX_TS_MS}ms"]
        if site is not None:
            conditions.append(f"site = {quote_string(site)}")
        if channel is not None:
            conditions.append(f"channel = {quote_string(channel)}")
        statement = (
            f"SELECT count({quote_identifier(COUNT_FIELD)}) FROM {self._from()}"
            f" WHERE {' AND '.join(conditions)}"
        )
        total = 0
        for series in self.run(statement):
            index = series["columns"].index("count")
            total += sum(int(values[index] or 0) for values in series["values"])
        return total

    def close(self) -> None:
        self._http.close()

