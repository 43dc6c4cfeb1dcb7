// The readings chart of the alert detail view: one small inline-SVG chart per field
// (units differ between fields, so they never share an axis), a strip of discrete events,
// a marker where the alert started, and the same data as a table for screen readers.

import { h } from "./common.js";
import { fmtClock as browserClock, fmtTime as browserTime, t } from "./i18n.js";

// How times are written; renderReadings may pass the site's (its time zone) for one drawing.
let fmtClock = browserClock;
let fmtTime = browserTime;

const HEIGHT = 120;
const PAD = { left: 48, right: 12, top: 20, bottom: 22 };
const EVENT_HEIGHT = 56;

function svg(tag, attrs = {}, ...children) {
  return h(`svg:${tag}`, attrs, ...children);
}

// Bookkeeping the store keeps beside the readings: not worth a chart.
const NOT_CHARTED = new Set(["seq", "samples", "hz", "msg", "credential"]);

/** Split readings into numeric series (booleans as 0/1) and discrete events. */
export function seriesOf(readings) {
  const series = new Map();
  const events = [];
  for (const r of readings) {
    for (const [name, value] of Object.entries(r.fields || {})) {
      if (NOT_CHARTED.has(name)) continue;
      if (typeof value === "number" && Number.isFinite(value)) {
        if (!series.has(name)) series.set(name, { name, boolean: false, points: [] });
        series.get(name).points.push([r.ts_ms, value]);
      } else if (typeof value === "boolean") {
        if (!series.has(name)) series.set(name, { name, boolean: true, points: [] });
        series.get(name).points.push([r.ts_ms, value ? 1 : 0]);
      } else if (name === "event" && typeof value === "string") {
        events.push([r.ts_ms, value]);
      }
    }
  }
  return { series: [...series.values()], events };
}

function fmtNumber(v) {
  return Math.abs(v) >= 100 || Number.isInteger(v) ? String(Math.round(v)) : v.toFixed(1);
}

function frame(width, height, startMs, endMs, markMs, label) {
  const plotW = width - PAD.left - PAD.right;
  const x = (ms) => PAD.left + ((ms - startMs) / (endMs - startMs)) * plotW;
  const root = svg("svg", {
    class: "chart",
    width,
    height,
    viewBox: `0 0 ${width} ${height}`,
    role: "img",
    "aria-label": label,
  });
  const axisY = height - PAD.bottom;
  root.append(
    svg("line", { class: "axis", x1: PAD.left, x2: width - PAD.right, y1: axisY, y2: axisY }),
    svg("text", { class: "tick", x: PAD.left, y: height - 6, "text-anchor": "start" }, fmtClock(startMs)),
    svg("text", { class: "tick", x: width - PAD.right, y: height - 6, "text-anchor": "end" }, fmtClock(endMs)),
  );
  if (markMs >= startMs && markMs <= endMs) {
    const mx = x(markMs);
    root.append(
      svg("line", { class: "marker", x1: mx, x2: mx, y1: PAD.top - 4, y2: axisY }),
      svg("text", { class: "marker-label", x: mx, y: height - 6, "text-anchor": "middle" },
        `${t("alert_started_marker")} ${fmtClock(markMs)}`),
    );
  }
  return { root, x, plotW, axisY };
}

function lineChart(s, width, ctx) {
  const { startMs, endMs, markMs, device } = ctx;
  const label = t("readings_chart_label", {
    field: s.name, device, start: fmtTime(startMs), end: fmtTime(endMs), at: fmtTime(markMs),
  });
  const { root, x, axisY } = frame(width, HEIGHT, startMs, endMs, markMs, label);
  const values = s.points.map((p) => p[1]);
  let lo = s.boolean ? 0 : Math.min(...values);
  let hi = s.boolean ? 1 : Math.max(...values);
  if (lo === hi) {
    lo -= 1;
    hi += 1;
  }
  const plotH = axisY - PAD.top;
  const y = (v) => axisY - ((v - lo) / (hi - lo)) * plotH;
  const loLabel = s.boolean ? t("no") : fmtNumber(lo);
  const hiLabel = s.boolean ? t("yes") : fmtNumber(hi);
  root.append(
    svg("text", { class: "title", x: PAD.left, y: 13 }, s.name),
    svg("line", { class: "grid", x1: PAD.left, x2: width - PAD.right, y1: y(hi), y2: y(hi) }),
    svg("text", { class: "tick", x: PAD.left - 6, y: y(hi) + 4, "text-anchor": "end" }, hiLabel),
    svg("text", { class: "tick", x: PAD.left - 6, y: y(lo) + 4, "text-anchor": "end" }, loLabel),
  );
  const pts = s.points.filter(([ms]) => ms >= startMs && ms <= endMs);
  if (pts.length === 0) return root;
  let d = `M${x(pts[0][0]).toFixed(1)},${y(pts[0][1]).toFixed(1)}`;
  for (const [ms, v] of pts.slice(1)) {
    // Booleans hold their state until the next reading: draw steps, not slopes.
    d += s.boolean
      ? `H${x(ms).toFixed(1)}V${y(v).toFixed(1)}`
      : `L${x(ms).toFixed(1)},${y(v).toFixed(1)}`;
  }
  root.append(svg("path", { class: "series", d }));
  if (pts.length <= 60) {
    for (const [ms, v] of pts) {
      root.append(svg("circle", { class: "point", cx: x(ms), cy: y(v), r: 2.5 }));
    }
  }
  return root;
}

function eventStrip(events, width, ctx) {
  const { startMs, endMs, markMs, device } = ctx;
  const label = t("readings_chart_label", {
    field: "event", device, start: fmtTime(startMs), end: fmtTime(endMs), at: fmtTime(markMs),
  });
  const { root, x, axisY } = frame(width, EVENT_HEIGHT, startMs, endMs, markMs, label);
  root.append(svg("text", { class: "title", x: PAD.left, y: 13 }, "event"));
  for (const [ms, value] of events) {
    if (ms < startMs || ms > endMs) continue;
    const ex = x(ms);
    root.append(
      svg("circle", { class: "event-dot", cx: ex, cy: axisY - 8, r: 4 }),
      svg("text", { class: "event-label", x: ex + 6, y: axisY - 4 }, value),
    );
  }
  return root;
}

function table(readings) {
  return h(
    "details",
    { class: "readings-table" },
    h("summary", {}, t("readings_table")),
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        {},
        h("thead", {}, h("tr", {},
          h("th", { scope: "col" }, t("col_time")),
          h("th", { scope: "col" }, t("col_channel")),
          h("th", { scope: "col" }, t("col_values")))),
        h("tbody", {}, readings.map((r) => h("tr", {},
          h("td", {}, fmtTime(r.ts)),
          h("td", {}, r.channel),
          h("td", {}, Object.entries(r.fields || {}).map(([k, v]) => `${k}=${v}`).join(", "))))),
      ),
    ),
  );
}

/**
 * Render `readings` (the API's readings rows) into `container` between startMs and endMs,
 * marking markMs (the alert's start). Redraws when the container is resized. `formatClock`
 * and `formatTime` (epoch ms or RFC 3339 to text) write times, by default in the browser's
 * time zone.
 */
export function renderReadings(container, { readings, startMs, endMs, markMs, device, formatClock, formatTime }) {
  const draw = () => {
    fmtClock = formatClock || browserClock;
    fmtTime = formatTime || browserTime;
    const width = Math.max(280, Math.floor(container.clientWidth || 600));
    const { series, events } = seriesOf(readings);
    const ctx = { startMs, endMs, markMs, device };
    const charts = series.map((s) => lineChart(s, width, ctx));
    if (events.length) charts.push(eventStrip(events, width, ctx));
    container.replaceChildren(...charts, table(readings));
  };
  if (readings.length === 0) {
    container.replaceChildren(h("p", { class: "muted" }, t("readings_none")));
    return;
  }
  draw();
  let lastWidth = container.clientWidth;
  const observer = new ResizeObserver(() => {
    if (!container.isConnected) {
      observer.disconnect();
      return;
    }
    if (Math.abs(container.clientWidth - lastWidth) > 8) {
      lastWidth = container.clientWidth;
      draw();
    }
  });
  observer.observe(container);
}
