// The duty desk: sign-in, the live alert list, alert detail with readings, site overview
// and device health. Hash routes: #/alerts[?household=..], #/alerts/{id}, #/sites,
// #/sites/{site}, #/devices.

import {
  api,
  ApiError,
  apiUrl,
  announce,
  clearToken,
  compareAlerts,
  CRITICAL,
  exerciseBadge,
  getToken,
  h,
  isOpen,
  replace,
  severityBadge,
  showLoginForm,
  signInWith,
  statusBadge,
  trapFocus,
} from "./common.js";
import { renderReadings } from "./chart.js";
import { applyI18n, bindLangButton, fmtRelative, fmtTime, onLangChange, t, tv } from "./i18n.js";

const $ = (id) => document.getElementById(id);
const READINGS_WINDOW_MS = 30 * 60 * 1000;
const REFRESH_MS = 60 * 1000;
const SOUND_KEY = "safehood.sound";
const RESOLVED_KEY = "safehood.showResolved";

const state = {
  me: null,
  alerts: new Map(),
  fresh: new Set(), // critical alerts raised since the page loaded and not yet handled
  stream: null,
  streamWasOpen: false,
  showResolved: localStorage.getItem(RESOLVED_KEY) === "1",
  sound: localStorage.getItem(SOUND_KEY) !== "0",
  route: null,
  refreshTimer: null,
};

// ---------- cues for new critical alerts ----------

let audio = null;

function unlockAudio() {
  // Browsers only let a page start audio after a user gesture; sign-in or any click counts.
  if (!audio && window.AudioContext) audio = new AudioContext();
  if (audio && audio.state === "suspended") audio.resume();
}

function beep() {
  if (!state.sound || !audio) return;
  const now = audio.currentTime;
  for (let i = 0; i < 3; i++) {
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.type = "square";
    osc.frequency.value = i % 2 ? 660 : 880;
    const at = now + i * 0.22;
    gain.gain.setValueAtTime(0.0001, at);
    gain.gain.exponentialRampToValueAtTime(0.2, at + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.18);
    osc.connect(gain).connect(audio.destination);
    osc.start(at);
    osc.stop(at + 0.2);
  }
}

function where(alert) {
  return [alert.site, alert.household, alert.device_id].filter(Boolean).join(" · ");
}

function alertName(alert) {
  return `${tv("type", alert.type)} (${where(alert)})`;
}

function cueCritical(alert) {
  state.fresh.add(alert.id);
  beep();
  document.body.dataset.criticalCues = String(Number(document.body.dataset.criticalCues || 0) + 1);
  const vars = { severity: tv("severity", alert.severity), type: tv("type", alert.type), where: where(alert) };
  $("banner-link").textContent = t("banner_new_critical", vars);
  $("banner-link").href = `#/alerts/${encodeURIComponent(alert.id)}`;
  $("banner").className = `banner sev-${alert.severity.toLowerCase()}`;
  $("banner").hidden = false;
  updateTitle();
}

function updateTitle() {
  const firing = [...state.alerts.values()].filter((a) => a.status === "firing").length;
  document.title = `${firing ? `(${firing}) ` : ""}${t("app_title")}`;
}

function handled(id) {
  state.fresh.delete(id);
  if (state.fresh.size === 0) $("banner").hidden = true;
}

// ---------- alert data and the live stream ----------

async function loadAlerts() {
  // The API sorts open alerts first, so the limit only ever cuts old resolved ones.
  const data = await api("alerts", { params: { limit: 500 } });
  state.alerts = new Map(data.data.map((a) => [a.id, a]));
  updateTitle();
}

function upsert(alert) {
  state.alerts.set(alert.id, alert);
  if (!isOpen(alert)) handled(alert.id);
  updateTitle();
}

function onStreamEvent(event) {
  let change;
  try {
    change = JSON.parse(event.data);
  } catch {
    return;
  }
  const alert = change.alert;
  if (!alert || !alert.id) return;
  const before = state.alerts.get(alert.id);
  const known = before !== undefined;
  upsert(alert);
  const vars = { severity: tv("severity", alert.severity), type: tv("type", alert.type), where: where(alert) };
  const critical = CRITICAL.has(alert.severity) && isOpen(alert);
  if ((change.kind === "raised" || !known) && isOpen(alert)) {
    announce($("announcer"), t("announce_new", vars));
    if (critical) cueCritical(alert);
  } else if (critical && (!CRITICAL.has(before.severity) ||
             (change.kind === "reminder" && alert.status === "firing"))) {
    // A possible fall confirmed as Extreme, or nobody has acknowledged yet: sound again.
    announce($("announcer"), t("announce_new", vars));
    cueCritical(alert);
  } else if (known && ["acknowledged", "escalated", "resolved"].includes(change.kind)) {
    announce($("announcer"), t("announce_changed", { ...vars, status: tv("status", alert.status) }));
  }
  rerender({ alertId: alert.id });
}

function setLive(key) {
  const el = $("live");
  el.hidden = false;
  el.dataset.state = key;
  el.textContent = t(key);
}

function openStream() {
  if (state.stream) state.stream.close();
  setLive(state.streamWasOpen ? "live_reconnecting" : "live_connecting");
  const es = new EventSource(apiUrl("stream", { token: getToken() }));
  state.stream = es;
  es.addEventListener("alert", onStreamEvent);
  es.addEventListener("open", async () => {
    setLive("live_connected");
    if (state.streamWasOpen) {
      // Changes made while the stream was down are not replayed: reload the list.
      try {
        await loadAlerts();
        rerender({});
      } catch {
        // The next stream error handles it.
      }
    }
    state.streamWasOpen = true;
  });
  es.addEventListener("error", async () => {
    setLive("live_reconnecting");
    if (es.readyState !== EventSource.CLOSED) return; // the browser retries by itself
    try {
      await api("me");
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) {
        signOut();
        return;
      }
    }
    setTimeout(() => {
      if (state.stream === es && state.me) openStream();
    }, 3000);
  });
}

// ---------- actions ----------

const ACTIONS = {
  acknowledge: { label: "action_acknowledge", dialog: "dialog_acknowledge" },
  escalate: { label: "action_escalate", dialog: "dialog_escalate" },
  resolve: { label: "action_resolve", dialog: "dialog_resolve", noteRequired: true },
};

function actionsFor(alert) {
  if (alert.status === "resolved") return [];
  return alert.status === "firing" ? ["acknowledge", "escalate", "resolve"] : ["escalate", "resolve"];
}

function actionButtons(alert) {
  return h(
    "div",
    { class: "actions", role: "group", "aria-label": t("actions_for", { alert: alertName(alert) }) },
    actionsFor(alert).map((name) =>
      h(
        "button",
        {
          type: "button",
          class: `action action-${name}`,
          dataset: { focusKey: `${alert.id}:${name}`, action: name, alertId: alert.id },
          onclick: () => openNoteDialog(alert.id, name),
        },
        t(ACTIONS[name].label),
      ),
    ),
  );
}

let dialogTarget = null;

function openNoteDialog(alertId, action) {
  const alert = state.alerts.get(alertId);
  if (!alert) return;
  const spec = ACTIONS[action];
  dialogTarget = { alertId, action, returnKey: `${alertId}:${action}` };
  $("note-title").textContent = t(spec.dialog);
  $("note-alert").textContent = `${tv("severity", alert.severity)} · ${alertName(alert)}`;
  $("note-label").textContent = spec.noteRequired ? t("note_label") : t("note_optional");
  $("note-text").value = "";
  $("note-text").required = Boolean(spec.noteRequired);
  $("note-error").hidden = true;
  $("note-confirm").textContent = t(spec.label);
  $("note-confirm").disabled = false;
  $("note-dialog").showModal();
  $("note-text").focus();
}

function closeNoteDialog() {
  const dialog = $("note-dialog");
  if (dialog.open) dialog.close();
}

function restoreFocus() {
  if (!dialogTarget) return;
  const key = dialogTarget.returnKey;
  const again = document.querySelector(`[data-focus-key="${CSS.escape(key)}"]`);
  const fallback = document.querySelector(`[data-focus-key="${CSS.escape(dialogTarget.alertId)}:link"]`);
  const detailAction = document.querySelector("#detail .action");
  (again || fallback || detailAction || $("main")).focus();
  dialogTarget = null;
}

async function submitNote(event) {
  event.preventDefault();
  if (!dialogTarget) return;
  const { alertId, action } = dialogTarget;
  const spec = ACTIONS[action];
  const note = $("note-text").value.trim();
  if (spec.noteRequired && !note) {
    $("note-error").textContent = t("note_required");
    $("note-error").hidden = false;
    $("note-text").focus();
    return;
  }
  $("note-confirm").disabled = true;
  try {
    const updated = await api(`alerts/${encodeURIComponent(alertId)}/${action}`, {
      method: "POST",
      body: note ? { note } : {},
    });
    upsert(updated);
    handled(alertId);
    closeNoteDialog();
    announce($("announcer"), t("action_done", { action: t(spec.label) }));
    rerender({ alertId });
    restoreFocus();
  } catch (err) {
    $("note-error").textContent = errorText(err);
    $("note-error").hidden = false;
    $("note-confirm").disabled = false;
  }
}

function errorText(err) {
  if (err instanceof ApiError) {
    if (err.status === 0) return t("error_network");
    if (err.status === 403) return t("error_forbidden");
    if (err.status === 404) return t("error_not_found");
    return t("error_generic", { detail: err.detail });
  }
  return t("error_generic", { detail: String(err) });
}

// ---------- views ----------

function timeEl(iso) {
  return h("time", { datetime: iso, title: fmtTime(iso) }, fmtRelative(iso));
}

function alertItem(alert) {
  const fresh = state.fresh.has(alert.id);
  const sev = String(alert.severity).toLowerCase();
  return h(
    "li",
    {
      class: `alert-item sev-${sev} status-${alert.status}${fresh ? " is-fresh" : ""}`,
      dataset: { alertId: alert.id, status: alert.status, severity: alert.severity },
    },
    h("div", { class: "cell-sev" }, severityBadge(alert.severity, tv("severity", alert.severity)),
      fresh ? h("span", { class: "badge fresh" }, t("new_badge")) : null,
      exerciseBadge(alert, t("exercise_badge"), t("exercise_hint"))),
    h(
      "div",
      { class: "cell-main" },
      h("a", {
        class: "alert-title",
        href: `#/alerts/${encodeURIComponent(alert.id)}`,
        dataset: { focusKey: `${alert.id}:link` },
      }, tv("type", alert.type)),
      h("span", { class: "where" }, where(alert)),
      alert.count > 1 ? h("span", { class: "count" }, `×${alert.count}`) : null,
    ),
    h("div", { class: "cell-time" }, timeEl(alert.started_at)),
    h("div", { class: "cell-status" }, statusBadge(alert.status, tv("status", alert.status))),
    h("div", { class: "cell-actions" }, actionButtons(alert)),
  );
}

function renderAlertList(view, params) {
  const household = params.get("household");
  const site = params.get("site");
  let alerts = [...state.alerts.values()];
  if (!state.showResolved) alerts = alerts.filter(isOpen);
  if (household) alerts = alerts.filter((a) => a.household === household);
  if (site) alerts = alerts.filter((a) => a.site === site);
  alerts.sort(compareAlerts);
  const open = alerts.filter(isOpen).length;
  const toggle = h("input", {
    type: "checkbox",
    id: "show-resolved",
    checked: state.showResolved,
    onchange: async (e) => {
      state.showResolved = e.target.checked;
      localStorage.setItem(RESOLVED_KEY, state.showResolved ? "1" : "0");
      rerender({ focusKey: "show-resolved" });
    },
  });
  const filters = [household && ["household", household], site && ["site", site]].filter(Boolean);
  replace(
    view,
    h("div", { class: "view-head" },
      h("h1", {}, t("alerts_heading")),
      h("p", { class: "muted", id: "alerts-count" }, t("alerts_count", { open, total: alerts.length })),
      h("label", { class: "check" }, toggle, " ", t("show_resolved"))),
    filters.length
      ? h("p", { class: "filters" }, filters.map(([k, v]) => h("span", { class: "chip" },
          `${t(`field_${k}`)}: ${v} `,
          h("a", { href: "#/alerts", "aria-label": `${t("banner_dismiss")} ${v}` }, "✕"))))
      : null,
    alerts.length
      ? h("ol", { class: "alert-list", id: "alert-list" }, alerts.map(alertItem))
      : h("p", { class: "empty" }, t("alerts_empty")),
  );
}

function dl(pairs) {
  return h("dl", { class: "fields" }, pairs
    .filter(([, v]) => v !== null && v !== undefined && v !== "")
    .map(([k, v]) => h("div", {}, h("dt", {}, k), h("dd", {}, v))));
}

const PLAUSIBLE_MS = [946684800000, 4102444800000]; // 2000 to 2100, as the wire contract

function evidenceValue(key, v) {
  if (v === null || v === undefined) return "–";
  // Detectors record instants as epoch milliseconds ("fell_at_ms"): show them as times.
  if (key.endsWith("_ms") && typeof v === "number" && v >= PLAUSIBLE_MS[0] && v <= PLAUSIBLE_MS[1]) {
    return fmtTime(new Date(v).toISOString());
  }
  if (Array.isArray(v) && v.every((x) => typeof x !== "object" || x === null)) return v.join(", ");
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

async function renderAlertDetail(view, id) {
  let alert = state.alerts.get(id);
  if (!alert) {
    replace(view, h("p", { class: "muted" }, t("loading")));
    try {
      alert = await api(`alerts/${encodeURIComponent(id)}`);
      state.alerts.set(alert.id, alert);
    } catch (err) {
      replace(view, h("p", {}, h("a", { href: "#/alerts" }, t("back_to_alerts"))),
        h("p", { class: "error", role: "alert" }, errorText(err)));
      return;
    }
  }
  handled(id);
  const chart = h("div", { class: "chart-box", id: "readings" }, h("p", { class: "muted" }, t("loading")));
  replace(
    view,
    h("p", {}, h("a", { href: "#/alerts", class: "back" }, `← ${t("back_to_alerts")}`)),
    h("article", { class: `detail sev-${alert.severity.toLowerCase()}`, id: "detail", dataset: { alertId: alert.id } }),
    h("section", { class: "card", "aria-labelledby": "readings-heading" },
      h("h2", { id: "readings-heading" }, t("readings_heading")), chart),
  );
  renderDetailBody(alert);
  if (!alert.device_id) {
    replace(chart, h("p", { class: "muted" }, t("readings_no_device")));
    return;
  }
  const at = Date.parse(alert.started_at);
  try {
    const data = await api(`devices/${encodeURIComponent(alert.device_id)}/readings`, {
      params: { start: at - READINGS_WINDOW_MS, end: at + READINGS_WINDOW_MS },
    });
    renderReadings(chart, {
      readings: data.data,
      startMs: at - READINGS_WINDOW_MS,
      endMs: at + READINGS_WINDOW_MS,
      markMs: at,
      device: alert.device_id,
    });
  } catch (err) {
    replace(chart, h("p", { class: "error" }, errorText(err)));
  }
}

function renderDetailBody(alert) {
  const box = $("detail");
  if (!box) return;
  const evidence = Object.entries(alert.evidence || {});
  replace(
    box,
    h("header", { class: "detail-head" },
      h("h1", {}, t("detail_heading", { type: tv("type", alert.type) })),
      h("p", { class: "badges" },
        severityBadge(alert.severity, tv("severity", alert.severity)), " ",
        h("span", { id: "detail-status" }, statusBadge(alert.status, tv("status", alert.status))), " ",
        exerciseBadge(alert, t("exercise_badge"), t("exercise_hint")))),
    alert.exercise ? h("p", { class: "muted" }, t("exercise_hint")) : null,
    actionButtons(alert),
    h("div", { class: "detail-grid" },
      h("section", { class: "card" },
        dl([
          [t("field_site"), alert.site],
          [t("field_household"), alert.household],
          [t("field_resident"), alert.resident],
          [t("field_device"), alert.device_id],
          [t("field_started"), fmtTime(alert.started_at)],
          [t("field_updated"), alert.updated_at ? fmtTime(alert.updated_at) : null],
          [t("field_resolved"), alert.resolved_at ? fmtTime(alert.resolved_at) : null],
          [t("field_count"), alert.count > 1 ? String(alert.count) : null],
        ])),
      h("section", { class: "card", "aria-labelledby": "evidence-heading" },
        h("h2", { id: "evidence-heading" }, t("evidence_heading")),
        evidence.length
          ? dl(evidence.map(([k, v]) => [k, evidenceValue(k, v)]))
          : h("p", { class: "muted" }, t("evidence_empty"))),
      h("section", { class: "card", "aria-labelledby": "history-heading" },
        h("h2", { id: "history-heading" }, t("history_heading")),
        h("ol", { class: "history" }, (alert.history || []).map((e) =>
          h("li", {},
            h("span", { class: "history-action" }, tv("action", e.action)), " ",
            h("time", { datetime: e.at }, fmtTime(e.at)), " ",
            h("span", { class: "muted" }, t("history_by", { actor: e.actor })),
            e.note ? h("q", { class: "note" }, e.note) : null))))),
  );
}

async function renderSites(view) {
  const data = await api("sites");
  if (data.data.length === 1) {
    // One site: go straight to its households.
    location.replace(`#/sites/${encodeURIComponent(data.data[0].id)}`);
    return;
  }
  replace(
    view,
    h("div", { class: "view-head" }, h("h1", {}, t("sites_heading"))),
    data.data.length
      ? h("ul", { class: "site-list" }, data.data.map((s) =>
          h("li", { class: "card" },
            h("a", { href: `#/sites/${encodeURIComponent(s.id)}`, class: "site-link" }, s.id),
            h("p", { class: "muted" }, t("site_summary", { households: s.households, devices: s.devices, open: s.open_alerts })))))
      : h("p", { class: "empty" }, t("sites_empty")),
  );
}

const STATE_ICON = { alert: "!", device_problem: "⚙", quiet: "✓" };

function householdCard(hh, site) {
  const stateLabel = tv("state", hh.state);
  return h(
    "li",
    { class: `household state-${hh.state}`, dataset: { household: hh.id, state: hh.state } },
    h("a", {
      href: `#/alerts?household=${encodeURIComponent(hh.id)}&site=${encodeURIComponent(site)}`,
      class: "household-link",
      "aria-label": `${t("household_card_label", { id: hh.id })}: ${stateLabel}`,
    },
    h("span", { class: "household-state" },
      h("span", { class: "state-icon", "aria-hidden": "true" }, STATE_ICON[hh.state] || "?"), " ", stateLabel),
    h("span", { class: "household-id" }, hh.id),
    h("span", { class: "household-meta" },
      [hh.building ? t("building", { building: hh.building }) : null,
        hh.lives_alone ? t("lives_alone") : null].filter(Boolean).join(" · ")),
    h("span", { class: "household-residents" }, (hh.residents || []).map((r) => r.name).join(", ")),
    h("span", { class: "household-activity" }, `${t("last_activity")}: ${fmtRelative(hh.last_activity)}`),
    hh.open_alerts
      ? h("span", { class: "household-alerts" },
          hh.worst_severity ? severityBadge(hh.worst_severity, tv("severity", hh.worst_severity)) : null, " ",
          t("open_alerts_n", { n: hh.open_alerts }))
      : null,
    hh.devices_offline ? h("span", { class: "household-problem" }, t("devices_offline", { n: hh.devices_offline })) : null,
    hh.battery_low ? h("span", { class: "household-problem" }, t("battery_low_n", { n: hh.battery_low })) : null),
  );
}

async function renderSite(view, site) {
  const data = await api(`sites/${encodeURIComponent(site)}/overview`);
  const order = { alert: 0, device_problem: 1, quiet: 2 };
  const households = [...data.households].sort(
    (a, b) => (order[a.state] ?? 3) - (order[b.state] ?? 3) || a.id.localeCompare(b.id),
  );
  const counts = { alert: 0, device_problem: 0, quiet: 0 };
  for (const hh of households) counts[hh.state] = (counts[hh.state] || 0) + 1;
  replace(
    view,
    h("div", { class: "view-head" },
      h("h1", {}, t("site_heading", { site: data.site })),
      h("ul", { class: "legend", "aria-label": t("legend") }, ["alert", "device_problem", "quiet"].map((s) =>
        h("li", { class: `state-${s}` },
          h("span", { class: "state-icon", "aria-hidden": "true" }, STATE_ICON[s]), " ",
          `${tv("state", s)}: ${counts[s]}`)))),
    households.length
      ? h("ul", { class: "household-grid", id: "household-grid" }, households.map((hh) => householdCard(hh, data.site)))
      : h("p", { class: "empty" }, t("site_empty")),
  );
}

async function renderDevices(view, params) {
  const data = await api("devices/health", { params: { site: params.get("site"), household: params.get("household") } });
  const problemsOnly = params.get("problems") === "1";
  const rows = data.data
    .filter((d) => !problemsOnly || d.problem)
    .sort((a, b) => Number(Boolean(b.problem)) - Number(Boolean(a.problem)) || a.device_id.localeCompare(b.device_id));
  const toggle = h("input", {
    type: "checkbox",
    id: "problems-only",
    checked: problemsOnly,
    onchange: (e) => {
      location.hash = e.target.checked ? "#/devices?problems=1" : "#/devices";
    },
  });
  const bool = (v) => (v === null || v === undefined ? t("unknown") : v ? t("yes") : t("no"));
  replace(
    view,
    h("div", { class: "view-head" },
      h("h1", {}, t("devices_heading")),
      h("label", { class: "check" }, toggle, " ", t("problems_only"))),
    rows.length
      ? h("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": t("devices_heading") },
          h("table", { class: "devices", id: "device-table" },
            h("thead", {}, h("tr", {}, ["col_problem", "col_device", "col_kind", "col_household", "col_room",
              "col_last_seen", "col_online", "col_battery", "col_rssi"].map((k) => h("th", { scope: "col" }, t(k))))),
            h("tbody", {}, rows.map((d) =>
              h("tr", { class: d.problem ? `problem problem-${d.problem}` : "", dataset: { deviceId: d.device_id } },
                h("td", { "data-label": t("col_problem") },
                  h("span", { class: `badge problem-badge problem-${d.problem || "none"}` }, tv("problem", d.problem || "none"))),
                h("th", { scope: "row", "data-label": t("col_device") }, d.device_id),
                h("td", { "data-label": t("col_kind") }, tv("kind", d.kind)),
                h("td", { "data-label": t("col_household") }, d.household || "–"),
                h("td", { "data-label": t("col_room") }, d.room || "–"),
                h("td", { "data-label": t("col_last_seen") }, d.last_seen ? timeEl(d.last_seen) : t("never")),
                h("td", { "data-label": t("col_online") }, bool(d.online)),
                h("td", { class: "num", "data-label": t("col_battery") },
                  d.battery === null || d.battery === undefined ? "–" : `${d.battery}%`),
                h("td", { class: "num", "data-label": t("col_rssi") },
                  d.rssi === null || d.rssi === undefined ? "–" : `${d.rssi} dBm`))))))
      : h("p", { class: "empty" }, t("devices_empty")),
  );
}

// ---------- routing ----------

function parseRoute() {
  const hash = location.hash.replace(/^#\/?/, "");
  const [path, query = ""] = hash.split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  const params = new URLSearchParams(query);
  if (parts[0] === "alerts" && parts[1]) return { name: "alert", id: parts[1], params };
  if (parts[0] === "sites" && parts[1]) return { name: "site", site: parts[1], params };
  if (parts[0] === "sites") return { name: "sites", params };
  if (parts[0] === "devices") return { name: "devices", params };
  return { name: "alerts", params };
}

function showError(err) {
  if (err instanceof ApiError && err.status === 401) {
    signOut();
    return;
  }
  const view = $("view");
  replace(view, h("p", { class: "error", role: "alert" }, errorText(err)));
}

async function route({ focusMain = true } = {}) {
  if (!state.me) return;
  const r = parseRoute();
  state.route = r;
  for (const a of document.querySelectorAll("#nav a")) {
    const active = a.dataset.route === (r.name === "alert" ? "alerts" : r.name === "site" ? "sites" : r.name);
    if (active) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  clearInterval(state.refreshTimer);
  const view = $("view");
  view.dataset.view = r.name;
  try {
    if (r.name === "alerts") renderAlertList(view, r.params);
    else if (r.name === "alert") await renderAlertDetail(view, r.id);
    else if (r.name === "sites") await renderSites(view);
    else if (r.name === "site") await renderSite(view, r.site);
    else if (r.name === "devices") await renderDevices(view, r.params);
  } catch (err) {
    showError(err);
  }
  if (["site", "devices", "alerts"].includes(r.name)) {
    // Last-activity and device health change without alert events: refresh now and then.
    state.refreshTimer = setInterval(() => rerender({}), REFRESH_MS);
  }
  if (focusMain) {
    const heading = view.querySelector("h1");
    if (heading) {
      heading.tabIndex = -1;
      heading.focus({ preventScroll: false });
    }
  }
}

let siteRefresh = null;

/** Redraw the current view after data changed, keeping keyboard focus where it was. */
function rerender({ alertId, focusKey } = {}) {
  if (!state.me || !state.route) return;
  const active = document.activeElement;
  const key = focusKey || active?.dataset?.focusKey || (active?.id && !active.closest("dialog") ? active.id : null);
  const r = state.route;
  if (r.name === "alerts") {
    renderAlertList($("view"), r.params);
  } else if (r.name === "alert") {
    if (alertId && alertId !== r.id) return;
    renderDetailBody(state.alerts.get(r.id));
  } else if (r.name === "site" || r.name === "devices") {
    // Several alert events may arrive at once; refetch the overview once.
    clearTimeout(siteRefresh);
    siteRefresh = setTimeout(() => route({ focusMain: false }), 500);
    return;
  } else {
    return;
  }
  if (key && !$("note-dialog").open) {
    const el = document.querySelector(`[data-focus-key="${CSS.escape(key)}"]`) || document.getElementById(key);
    if (el && el !== document.activeElement) el.focus({ preventScroll: true });
  }
}

// ---------- sign-in ----------

function showLogin(message) {
  state.me = null;
  $("view").replaceChildren();
  showLoginForm(["nav", "live", "sound", "user", "logout", "banner"], message);
}

function signOut() {
  clearToken();
  if (state.stream) state.stream.close();
  state.stream = null;
  state.streamWasOpen = false;
  state.alerts.clear();
  state.fresh.clear();
  showLogin();
}

async function start(me) {
  if (me.role === "family") {
    location.replace("family.html");
    return;
  }
  state.me = me;
  $("login-view").hidden = true;
  $("login-error").hidden = true;
  for (const id of ["nav", "sound", "user", "logout"]) $(id).hidden = false;
  $("user").textContent = t("signed_in_as", { name: me.name });
  renderSoundButton();
  try {
    await loadAlerts();
  } catch (err) {
    showError(err);
  }
  openStream();
  await route();
}

function signIn(event) {
  unlockAudio();
  return signInWith(event, start, { failed: t("login_failed"), describe: errorText });
}

function renderSoundButton() {
  const b = $("sound");
  b.textContent = state.sound ? t("sound_on") : t("sound_off");
  b.setAttribute("aria-pressed", String(state.sound));
}

function init() {
  applyI18n();
  bindLangButton($("lang"));
  trapFocus($("note-dialog"));
  $("login-form").addEventListener("submit", signIn);
  $("logout").addEventListener("click", signOut);
  $("note-form").addEventListener("submit", submitNote);
  // Closing is handled synchronously here rather than in the dialog's "close" event, which
  // arrives later and could restore focus for a dialog opened again in between.
  $("note-cancel").addEventListener("click", () => {
    closeNoteDialog();
    restoreFocus();
  });
  $("note-dialog").addEventListener("cancel", (event) => {
    event.preventDefault();
    closeNoteDialog();
    restoreFocus();
  });
  $("banner-dismiss").addEventListener("click", () => {
    $("banner").hidden = true;
  });
  $("sound").addEventListener("click", () => {
    state.sound = !state.sound;
    localStorage.setItem(SOUND_KEY, state.sound ? "1" : "0");
    unlockAudio();
    renderSoundButton();
  });
  document.addEventListener("pointerdown", unlockAudio, { once: true });
  document.addEventListener("keydown", unlockAudio, { once: true });
  window.addEventListener("hashchange", () => route());
  onLangChange(() => {
    if (state.me) {
      $("user").textContent = t("signed_in_as", { name: state.me.name });
      renderSoundButton();
      setLive($("live").dataset.state || "live_connecting");
      updateTitle();
      route({ focusMain: false });
    } else {
      document.title = t("app_title");
    }
  });
  document.title = t("app_title");
  const token = getToken();
  if (!token) {
    showLogin();
    return;
  }
  api("me")
    .then(start)
    .catch((err) => showLogin(err instanceof ApiError && err.status === 401 ? t("login_failed") : errorText(err)));
}

init();
