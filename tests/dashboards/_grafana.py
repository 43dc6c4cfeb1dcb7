"""What the Grafana tests check: the dashboard fields Grafana needs to load a file, and the
names each query uses (InfluxQL measurements, fields and tags; PromQL metrics)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

# Panel types shipped with Grafana that the boards may use.
PANEL_TYPES = frozenset({
    "timeseries", "stat", "bargauge", "gauge", "table", "text", "row", "barchart",
    "piechart", "state-timeline", "status-history", "heatmap", "logs",
})
NO_QUERY_PANELS = frozenset({"row", "text"})
UID_RE = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
# Grafana's own variables and InfluxQL alias variables; everything else must be templated.
BUILTIN_VARIABLES = frozenset({
    "timeFilter", "__interval", "__interval_ms", "__rate_interval", "__range", "__range_s",
    "__range_ms", "__timeFilter", "__from", "__to", "__dashboard", "__org", "__user", "col",
    "m", "measurement",
})
VARIABLE_RE = re.compile(r"\$(?:\{(\w+)(?::\w+)?\}|(\w+))")

_FROM_RE = re.compile(
    r"\bFROM\s+(.+?)(?=\s+(?:WHERE|GROUP\s+BY|ORDER\s+BY|LIMIT|SLIMIT|fill)\b|\s*$)",
    re.IGNORECASE,
)
_GROUP_BY_RE = re.compile(r"\bGROUP\s+BY\s+(.+?)(?=\s+(?:fill|ORDER|LIMIT|SLIMIT)\b|\s*$)",
                          re.IGNORECASE)
_METRIC_RE = re.compile(r"\b(safehood_[A-Za-z0-9_]+)\b")
_LABEL_VALUES_RE = re.compile(r"label_values\(\s*([A-Za-z_:][A-Za-z0-9_:]*)")


def panels_of(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, including those nested in collapsed rows."""
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def query_panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    return (p for p in panels_of(dashboard) if p.get("type") not in NO_QUERY_PANELS)


def influx_queries(dashboard: dict[str, Any]) -> list[str]:
    """Every InfluxQL statement of the dashboard: panel targets and query variables."""
    found = [
        t["query"] for p in query_panels(dashboard) for t in p.get("targets", [])
        if t.get("datasource", p.get("datasource", {})).get("type") == "influxdb"
    ]
    found += [
        v["query"] for v in dashboard.get("templating", {}).get("list", [])
        if v.get("type") == "query" and v.get("datasource", {}).get("type") == "influxdb"
    ]
    return found


def prometheus_exprs(dashboard: dict[str, Any]) -> list[str]:
    """Every PromQL expression of the dashboard: panel targets and query variables."""
    found = [
        t["expr"] for p in query_panels(dashboard) for t in p.get("targets", [])
        if t.get("datasource", p.get("datasource", {})).get("type") == "prometheus"
    ]
    for v in dashboard.get("templating", {}).get("list", []):
        if v.get("type") == "query" and v.get("datasource", {}).get("type") == "prometheus":
            query = v["query"]
            found.append(query["query"] if isinstance(query, dict) else query)
    return found


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def dashboard_problems(dashboard: Any, datasource_uids: dict[str, str]) -> list[str]:
    """What keeps Grafana from loading ``dashboard`` (or makes a panel show nothing).

    ``datasource_uids`` maps each provisioned datasource uid to its type.
    """
    if not isinstance(dashboard, dict):
        return ["a dashboard file must hold a JSON object"]
    problems: list[str] = []
    title = dashboard.get("title")
    if not isinstance(title, str) or not title.strip():
        problems.append("title: a non-empty string is required")
    uid = dashboard.get("uid")
    if not isinstance(uid, str) or not UID_RE.match(uid):
        problems.append("uid: 1-40 letters, digits, '-' or '_' are required")
    if dashboard.get("id") is not None:
        problems.append("id: must be absent or null in a provisioned dashboard")
    schema = dashboard.get("schemaVersion")
    if not _is_int(schema) or schema < 36:
        problems.append("schemaVersion: an integer >= 36 is required")
    time_range = dashboard.get("time")
    if not isinstance(time_range, dict) or not {"from", "to"} <= time_range.keys():
        problems.append("time: {from, to} is required")
    if not isinstance(dashboard.get("tags", []), list):
        problems.append("tags: must be a list")
    templating = dashboard.get("templating")
    if not isinstance(templating, dict) or not isinstance(templating.get("list"), list):
        problems.append("templating: {list: [...]} is required")
        variables: list[dict[str, Any]] = []
    else:
        variables = templating["list"]
    annotations = dashboard.get("annotations")
    if annotations is not None and not isinstance(annotations.get("list"), list):
        problems.append("annotations: {list: [...]} is required when present")
    panels = dashboard.get("panels")
    if not isinstance(panels, list) or not panels:
        problems.append("panels: a non-empty list is required")
        return problems

    names = [v.get("name") for v in variables]
    for i, v in enumerate(variables):
        where = f"templating.list[{i}]"
        if not isinstance(v.get("name"), str) or not v["name"]:
            problems.append(f"{where}: name is required")
        if v.get("type") not in {"query", "custom", "constant", "interval", "datasource",
                                 "textbox", "adhoc"}:
            problems.append(f"{where}: unknown type {v.get('type')!r}")
        if v.get("type") == "query":
            problems += _datasource_problems(where, v.get("datasource"), datasource_uids)
            if not v.get("query"):
                problems.append(f"{where}: query is required")
    if len(set(names)) != len(names):
        problems.append("templating: variable names must be unique")
    known_variables = set(names) | BUILTIN_VARIABLES

    ids: list[Any] = []
    boxes: list[tuple[str, int, int, int, int]] = []
    for panel in panels_of(dashboard):
        ptitle = panel.get("title") or f"panel {panel.get('id')}"
        where = f"panel {ptitle!r}"
        ids.append(panel.get("id"))
        if not _is_int(panel.get("id")):
            problems.append(f"{where}: integer id is required")
        if panel.get("type") not in PANEL_TYPES:
            problems.append(f"{where}: unknown type {panel.get('type')!r}")
        if panel.get("type") != "row" and not panel.get("title"):
            problems.append(f"{where}: title is required")
        pos = panel.get("gridPos")
        if not isinstance(pos, dict) or not all(_is_int(pos.get(k)) for k in "xywh"):
            problems.append(f"{where}: gridPos needs integer x, y, w, h")
        else:
            if pos["w"] < 1 or pos["h"] < 1 or pos["x"] < 0 or pos["y"] < 0:
                problems.append(f"{where}: gridPos must be positive")
            if pos["x"] + pos["w"] > 24:
                problems.append(f"{where}: gridPos x + w must be at most 24")
            boxes.append((ptitle, pos["x"], pos["y"], pos["w"], pos["h"]))
        if panel.get("type") in NO_QUERY_PANELS:
            continue
        problems += _datasource_problems(where, panel.get("datasource"), datasource_uids)
        targets = panel.get("targets")
        if not isinstance(targets, list) or not targets:
            problems.append(f"{where}: targets: a non-empty list is required")
            continue
        ref_ids = [t.get("refId") for t in targets]
        if len(set(ref_ids)) != len(ref_ids) or not all(ref_ids):
            problems.append(f"{where}: every target needs a unique refId")
        for t in targets:
            ds = t.get("datasource", panel.get("datasource")) or {}
            problems += _datasource_problems(f"{where} target {t.get('refId')}", ds,
                                             datasource_uids)
            kind = ds.get("type")
            text = t.get("query") if kind == "influxdb" else t.get("expr")
            if not isinstance(text, str) or not text.strip():
                problems.append(f"{where} target {t.get('refId')}: empty query")
                continue
            if kind == "influxdb" and t.get("rawQuery") is not True:
                problems.append(f"{where} target {t.get('refId')}: rawQuery must be true")
            for match in VARIABLE_RE.finditer(text):
                name = match.group(1) or match.group(2)
                if name not in known_variables and not name.startswith("tag_"):
                    problems.append(f"{where}: ${name} is not a dashboard variable")
    if len(set(ids)) != len(ids):
        problems.append("panels: ids must be unique")
    problems += _overlaps(boxes)
    return problems


def _datasource_problems(where: str, ds: Any, uids: dict[str, str]) -> list[str]:
    if not isinstance(ds, dict) or "uid" not in ds or "type" not in ds:
        return [f"{where}: datasource {{type, uid}} is required"]
    if uids.get(ds["uid"]) != ds["type"]:
        return [f"{where}: datasource {ds['uid']!r} ({ds['type']}) is not provisioned"]
    return []


def _overlaps(boxes: list[tuple[str, int, int, int, int]]) -> list[str]:
    problems = []
    for i, (a, ax, ay, aw, ah) in enumerate(boxes):
        for b, bx, by, bw, bh in boxes[i + 1:]:
            if ax < bx + bw and bx < ax + aw and ay < by + bh and by < ay + ah:
                problems.append(f"panels {a!r} and {b!r} overlap")
    return problems


def _split_names(text: str) -> list[str]:
    return [part.strip().strip('"') for part in text.split(",") if part.strip()]


def influx_measurements(query: str) -> list[str]:
    """The measurements a statement reads (``"db"."rp"."m"`` -> ``m``)."""
    names: list[str] = []
    for match in _FROM_RE.finditer(query):
        for name in _split_names(match.group(1)):
            names.append(name.split('"."')[-1].split(".")[-1].strip('"'))
    return names


def influx_group_tags(query: str) -> list[str]:
    """The tag keys of a statement's GROUP BY (``time(...)`` left out)."""
    match = _GROUP_BY_RE.search(query)
    if not match:
        return []
    return [n for n in _split_names(match.group(1)) if not n.lower().startswith("time(")]


def prometheus_metrics(expr: str) -> set[str]:
    """Metric names an expression reads."""
    return set(_METRIC_RE.findall(expr)) | set(_LABEL_VALUES_RE.findall(expr))


def exposed_metric_names(exposition: str) -> set[str]:
    """Metric names in a Prometheus text exposition, including those with no sample yet
    (a labelled counter nobody incremented still has its ``# TYPE`` line)."""
    names: set[str] = set()
    for line in exposition.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(maxsplit=3)
            names.add(name)
            if kind == "histogram":
                names |= {f"{name}_bucket", f"{name}_sum", f"{name}_count"}
            elif kind == "summary":
                names |= {f"{name}_sum", f"{name}_count"}
        elif line and not line.startswith("#"):
            names.add(re.split(r"[{\s]", line, maxsplit=1)[0])
    return names
