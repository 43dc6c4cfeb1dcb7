// Response times per alert type and shift (median, p90, share within 60 s) and the shift
// handover report: open alerts, what happened, reminders nobody acknowledged. Printable
// (print styles hide the controls) and as CSV.

import { api, ApiError, apiUrl, getToken, h, replace, severityBadge, statusBadge } from "./common.js";
import { fmtTime, t, tv } from "./i18n.js";
import { $, clearError, showError, startDutyPage } from "./dutypage.js";

const DAY_MS = 86_400_000;
const state = { metrics: null, handover: null };

function seconds(value) {
  if (value === null || value === undefined) return "–";
  return value >= 120 ? `${(value / 60).toFixed(1)} min` : `${Math.round(value)} s`;
}

function share(value) {
  return value === null || value === undefined ? "–" : `${Math.round(value * 100)}%`;
}

function metricsTable(rows) {
  const figures = (d, cls) => [
    h("td", { class: cls, dataset: { col: "median" } }, seconds(d.median_s)),
    h("td", { class: cls, dataset: { col: "p90" } }, seconds(d.p90_s)),
    h("td", { class: `${cls}${d.within_60s !== null && d.within_60s < 0.9 ? " late" : ""}`, dataset: { col: "within" } },
      share(d.within_60s)),
  ];
  return h("table", { class: "digest response" },
    h("thead", {},
      h("tr", {},
        h("th", { scope: "col", rowspan: "2" }, t("metrics_shift")),
        h("th", { scope: "col", rowspan: "2" }, t("metrics_type")),
        h("th", { scope: "col", rowspan: "2" }, t("metrics_count")),
        h("th", { scope: "colgroup", colspan: "3" }, t("metrics_ack")),
        h("th", { scope: "colgroup", colspan: "3" }, t("metrics_resolve"))),
      h("tr", {}, [0, 1].map(() => [
        h("th", { scope: "col" }, t("metrics_median")),
        h("th", { scope: "col" }, t("metrics_p90")),
        h("th", { scope: "col" }, t("metrics_within"))]))),
    h("tbody", {}, rows.map((r) =>
      h("tr", { class: r.type === "*" ? "response-all" : "", dataset: { type: r.type, shift: r.shift } },
        h("th", { scope: "row" }, r.shift),
        h("td", {}, r.type === "*" ? t("metrics_all_types") : tv("type", r.type)),
        h("td", {}, String(r.acknowledge.count)),
        figures(r.acknowledge, "ack"),
        figures(r.resolve, "resolve")))));
}

function handoverList(id, title, alerts, withReminders = false) {
  return h("section", { class: "handover-part", id },
    h("h3", {}, t(title, { n: alerts.length })),
    alerts.length === 0
      ? h("p", { class: "muted" }, t("handover_none"))
      : h("table", { class: "digest" },
          h("thead", {}, h("tr", {},
            h("th", { scope: "col" }, t("metrics_type")),
            h("th", { scope: "col" }, t("handover_household")),
            h("th", { scope: "col" }, t("handover_started")),
            h("th", { scope: "col" }, t("handover_acknowledged")),
            h("th", { scope: "col" }, t("handover_resolved")))),
          h("tbody", {}, alerts.map((a) => h("tr", { dataset: { alert: a.id } },
            h("th", { scope: "row" },
              h("a", { href: `index.html#/alerts/${encodeURIComponent(a.id)}` }, tv("type", a.type)), " ",
              severityBadge(a.severity, tv("severity", a.severity)), " ",
              statusBadge(a.status, tv("status", a.status)),
              withReminders ? h("span", { class: "muted" }, ` ${t("handover_reminders", { n: a.reminders })}`) : null),
            h("td", {}, a.household || "–"),
            h("td", {}, fmtTime(a.started_at)),
            h("td", {}, a.acknowledged_at ? fmtTime(a.acknowledged_at) : "–"),
            h("td", {}, a.resolved_at ? fmtTime(a.resolved_at) : "–"))))));
}

function render() {
  document.title = `safehood ${t("metrics_title")}`;
  const m = state.metrics;
  if (m) {
    $("metrics-zone").textContent = t("metrics_zone", { starts: m.shift_starts.join(", "), zone: m.timezone });
    replace($("metrics"), m.data.length ? metricsTable(m.data) : h("p", { class: "muted" }, t("metrics_empty")));
  }
  const ho = state.handover;
  if (ho) {
    replace($("handover"),
      h("p", { class: "handover-shift" }, t("handover_shift", { shift: ho.shift, zone: ho.timezone }),
        " · ", t("handover_at"), " ", fmtTime(ho.at)),
      handoverList("handover-open", "handover_open", ho.open),
      handoverList("handover-unacked", "handover_unacked", ho.unacknowledged, true),
      handoverList("handover-happened", "handover_happened", ho.happened));
  }
}

function handoverAt() {
  const value = $("handover-at").value;
  return value ? new Date(value).toISOString() : undefined;
}

async function load(site) {
  if (!site) return;
  const until = Date.now();
  try {
    [state.metrics, state.handover] = await Promise.all([
      api(`sites/${encodeURIComponent(site)}/response`, {
        params: { by: $("by").value, since: until - Number($("days").value) * DAY_MS, until },
      }),
      api(`sites/${encodeURIComponent(site)}/handover`, { params: { at: handoverAt() } }),
    ]);
    clearError();
  } catch (err) {
    showError(err);
  }
  render();
}

/** The CSV needs the token in a header, so it is fetched and handed over as a file. */
async function downloadCsv() {
  const site = $("site").value;
  const url = apiUrl(`sites/${encodeURIComponent(site)}/handover`, { at: handoverAt(), format: "csv" });
  const response = await fetch(url, { headers: { Authorization: `Bearer ${getToken()}` } });
  if (!response.ok) {
    showError(new ApiError(response.status, response.statusText));
    return;
  }
  const link = h("a", { href: URL.createObjectURL(await response.blob()), download: `handover-${site}.csv` });
  document.body.appendChild(link);
  link.click();
  link.remove();
}

for (const id of ["days", "by", "handover-at"]) $(id).addEventListener("change", () => load($("site").value));
$("print").addEventListener("click", () => window.print());
$("handover-csv").addEventListener("click", downloadCsv);
startDutyPage({ load, render });
