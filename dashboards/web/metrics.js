// Response times per alert type and shift (median, p90, share within 60 s) and the shift
// handover report: open alerts, what happened, reminders nobody acknowledged. Printable
// (print styles hide the controls) and as CSV.

import { api, download, h, replace, severityBadge, statusBadge } from "./common.js";
import { fmtSiteTime, setClock, siteNow } from "./clock.js";
import { t, tv } from "./i18n.js";
import { $, clearError, showError, startDutyPage } from "./dutypage.js";

const DAY_MS = 86_400_000;
const state = { metrics: null, handover: null, silences: null };

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
      : h("div", { class: "table-wrap" }, h("table", { class: "digest" },
          h("thead", {}, h("tr", {},
            h("th", { scope: "col" }, t("metrics_type")),
            h("th", { scope: "col" }, t("handover_household")),
            h("th", { scope: "col" }, t("handover_started")),
            h("th", { scope: "col" }, t("handover_acknowledged")),
            h("th", { scope: "col" }, t("handover_resolved")))),
          h("tbody", {}, alerts.map((a) => h("tr", { dataset: { alert: a.id } },
            h("th", { scope: "row" },
              h("a", { href: `index.html#/alerts/${encodeURIComponent(a.id)}` }, tv("type", a.type)), " ",
              severityBadge(a.severity), " ",
              statusBadge(a.status),
              withReminders ? h("span", { class: "muted" }, ` ${t("handover_reminders", { n: a.reminders })}`) : null),
            h("td", {}, a.household || "–"),
            h("td", {}, siteTime(a.started_at)),
            h("td", {}, a.acknowledged_at ? siteTime(a.acknowledged_at) : "–"),
            h("td", {}, a.resolved_at ? siteTime(a.resolved_at) : "–")))))));
}

function silenceItem(s) {
  const when = s.weekly.length
    ? s.weekly.map((w) => t("silences_weekly", {
        days: w.days.map((d) => t(`day_${d}`)).join(" "), start: w.start, end: w.end, zone: s.timezone,
      })).join("; ")
    : t("silences_window", { start: siteTime(s.starts_at), end: siteTime(s.ends_at) });
  const scope = [s.site, s.household, s.device_id].filter(Boolean).join(" / ");
  const types = s.types.length ? s.types.map((x) => tv("type", x)).join(", ") : t("silences_all_types");
  return h("li", { class: `silence${s.active ? " silence-active" : ""}`, dataset: { silence: s.id } },
    h("strong", {}, when), " ",
    h("span", { class: `badge ${s.active ? "status status-acknowledged" : "status"}` },
      s.active ? t("silences_active") : t("silences_inactive")),
    h("span", { class: "silence-scope" }, `${t("silences_scope")}: ${scope} · ${types}`),
    s.comment ? h("span", { class: "silence-comment" }, `“${s.comment}”`) : null,
    h("span", { class: "silence-by muted" }, t("silences_by", { who: s.created_by, when: siteTime(s.created_at) })),
    h("button", { type: "button", class: "tool no-print", onclick: () => endSilence(s.id) }, t("silences_end")));
}

function render() {
  document.title = `safehood ${t("metrics_title")}`;
  replace($("quiet-days"), [0, 1, 2, 3, 4, 5, 6].map((d) =>
    h("label", { class: "quiet-day" },
      h("input", { type: "checkbox", value: String(d), checked: state.days?.has(d) ?? true,
                   onchange: (e) => toggleDay(d, e.target.checked) }), ` ${t(`day_${d}`)}`)));
  if (state.silences) {
    replace($("silences"), state.silences.length
      ? h("ul", { class: "silences" }, state.silences.map(silenceItem))
      : h("p", { class: "muted" }, t("silences_none")));
  }
  const m = state.metrics;
  if (m) {
    $("metrics-zone").textContent = t("metrics_zone", { starts: m.shift_starts.join(", "), zone: m.timezone });
    replace($("metrics"), m.data.length ? metricsTable(m.data) : h("p", { class: "muted" }, t("metrics_empty")));
  }
  const ho = state.handover;
  if (ho) {
    replace($("handover"),
      h("p", { class: "handover-shift" }, t("handover_shift", { shift: ho.shift, zone: ho.timezone }),
        " · ", t("handover_at"), " ", siteTime(ho.at)),
      handoverList("handover-open", "handover_open", ho.open),
      handoverList("handover-unacked", "handover_unacked", ho.unacknowledged, true),
      handoverList("handover-happened", "handover_happened", ho.happened));
  }
}

/** A time of the chosen site, in its time zone (one clock: the site's event time). */
function siteTime(iso) {
  return fmtSiteTime(iso, $("site").value);
}

/** The handover's moment: the one picked, else the site's clock now (not the browser's:
 * a simulated site's event time may run days behind). */
function handoverAt() {
  const value = $("handover-at").value;
  return new Date(value ? value : siteNow($("site").value)).toISOString();
}

function toggleDay(day, on) {
  state.days = state.days || new Set([0, 1, 2, 3, 4, 5, 6]);
  if (on) state.days.add(day);
  else state.days.delete(day);
}

async function endSilence(id) {
  try {
    await api(`silences/${encodeURIComponent(id)}`, { method: "DELETE" });
  } catch (err) {
    showError(err);
  }
  await load($("site").value);
}

async function addQuietHours(event) {
  event.preventDefault();
  const days = [...(state.days || new Set([0, 1, 2, 3, 4, 5, 6]))].sort();
  try {
    await api("silences", {
      method: "POST",
      body: {
        site: $("site").value,
        comment: $("quiet-comment").value,
        weekly: [{ days, start: $("quiet-start").value, end: $("quiet-end").value }],
      },
    });
    $("quiet-comment").value = "";
  } catch (err) {
    showError(err);
  }
  await load($("site").value);
}

async function load(site) {
  if (!site) return;
  try {
    setClock(await api(`sites/${encodeURIComponent(site)}/clock`));
  } catch (err) {
    showError(err);
  }
  const until = Math.round(siteNow(site));
  try {
    let silences;
    [state.metrics, state.handover, silences] = await Promise.all([
      api(`sites/${encodeURIComponent(site)}/response`, {
        params: { by: $("by").value, since: until - Number($("days").value) * DAY_MS, until },
      }),
      api(`sites/${encodeURIComponent(site)}/handover`, { params: { at: handoverAt() } }),
      api("silences"),
    ]);
    state.silences = silences.data.filter((x) => !x.site || x.site === site);
    clearError();
  } catch (err) {
    showError(err);
  }
  render();
}

function downloadCsv() {
  const site = $("site").value;
  return download(`sites/${encodeURIComponent(site)}/handover`, { at: handoverAt(), format: "csv" },
    `handover-${site}.csv`).catch(showError);
}

for (const id of ["days", "by", "handover-at"]) $(id).addEventListener("change", () => load($("site").value));
$("print").addEventListener("click", () => window.print());
$("handover-csv").addEventListener("click", downloadCsv);
$("quiet-form").addEventListener("submit", addQuietHours);
startDutyPage({ load, render });
