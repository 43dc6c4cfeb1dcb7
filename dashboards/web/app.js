// The duty desk: sign-in, the live alert list, alert detail with readings, site overview
// and device health. Hash routes: #/alerts[?household=..], #/alerts/{id}, #/sites,
// #/sites/{site}, #/devices.

import {
  alertStream,
  api,
  ApiError,
  announce,
  clearToken,
  compareAlerts,
  CRITICAL,
  exerciseBadge,
  h,
  isOpen,
  replace,
  severityBadge,
  showLoginForm,
  startSession,
  statusBadge,
  trapFocus,
} from "./common.js";
import { renderReadings } from "./chart.js";
import { applyI18n, bindLangButton, onLangChange, t, tv } from "./i18n.js";
import { clockBadge, fmtSiteClock, fmtSiteRelative, fmtSiteTime, getClock, setClock, siteTimeEl } from "./clock.js";

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
  await loadClocks([...new Set(data.data.map((a) => a.site))]);
  updateTitle();
}

/** Read the clocks of `sites` not read yet (every alert time is shown on its site's clock). */
async function loadClocks(sites) {
  const missing = sites.filter((site) => !getClock(site));
  await Promise.all(missing.map(async (site) => {
    try {
      setClock(await api(`sites/${encodeURIComponent(site)}/clock`));
    } catch {
      // Without its clock a site's times are shown on the browser's clock.
    }
  }));
  renderClockBadge();
}

/** The topbar badge: the clock of the site in view (or of the only site). */
function renderClockBadge() {
  const box = $("site-clock");
  if (!box) return;
  const sites = [...new Set([...state.alerts.values()].map((a) => a.site))];
  const r = state.route;
  const alert = r && r.name === "alert" ? state.alerts.get(r.id) : null;
  const site = alert?.site || (r && r.name === "site" ? r.site : null) || state.me?.sites?.[0] || sites[0];
  const badge = site ? clockBadge(site) : null;
  box.hidden = !badge;
  replace(box, badge);
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
  const es = alertStream();
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
  resolve: { label: "action_resolve", dialog: "dialog_resolve", noteRequired: true, cause: true },
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
  $("note-cause-row").hidden = !spec.cause;
  $("note-cause").value = "";
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
  const cause = spec.cause ? $("note-cause").value : "";
  $("note-confirm").disabled = true;
  try {
    const body = note ? { note } : {};
    if (cause) body.cause = cause;
    const updated = await api(`alerts/${encodeURIComponent(alertId)}/${action}`, {
      method: "POST",
      body,
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

function timeEl(iso, site) {
  return siteTimeEl(iso, site);
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
    h("div", { class: "cell-sev" }, severityBadge(alert.severity),
      fresh ? h("span", { class: "badge fresh" }, t("new_badge")) : null,
      exerciseBadge(alert)),
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
    h("div", { class: "cell-time" }, timeEl(alert.started_at, alert.site)),
    h("div", { class: "cell-status" }, statusBadge(alert.status)),
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

function evidenceValue(key, v, site) {
  if (v === null || v === undefined) return "–";
  // Detectors record instants as epoch milliseconds ("fell_at_ms"): show them as times.
  if (key.endsWith("_ms") && typeof v === "number" && v >= PLAUSIBLE_MS[0] && v <= PLAUSIBLE_MS[1]) {
    return fmtSiteTime(new Date(v).toISOString(), site);
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
  await loadClocks([alert.site]);
  const chart = h("div", { class: "chart-box", id: "readings" }, h("p", { class: "muted" }, t("loading")));
  // The care record and the incident log form live outside #detail, which live changes
  // redraw: what an officer is typing must survive them.
  replace(
    view,
    h("p", {}, h("a", { href: "#/alerts", class: "back" }, `← ${t("back_to_alerts")}`)),
    h("div", { class: "duty-desk" },
      h("article", { class: `detail sev-${alert.severity.toLowerCase()}`, id: "detail", dataset: { alertId: alert.id } }),
      h("aside", { class: "duty-side" },
        h("section", { class: "card care", id: "care", "aria-labelledby": "care-heading" },
          h("h2", { id: "care-heading" }, t("care_heading")), h("p", { class: "muted" }, t("loading"))),
        h("section", { class: "card incident-log", id: "incident-log", "aria-labelledby": "log-heading" }))),
    h("section", { class: "card", "aria-labelledby": "readings-heading" },
      h("h2", { id: "readings-heading" }, t("readings_heading")), chart),
  );
  renderDetailBody(alert);
  renderIncidentForm(alert, null);
  loadCare(alert);
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
      formatClock: (v) => fmtSiteClock(new Date(v).toISOString(), alert.site),
      formatTime: (v) => fmtSiteTime(new Date(v).toISOString(), alert.site),
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
        severityBadge(alert.severity), " ",
        h("span", { id: "detail-status" }, statusBadge(alert.status)), " ",
        exerciseBadge(alert))),
    alert.exercise ? h("p", { class: "muted" }, t("exercise_hint")) : null,
    actionButtons(alert),
    h("div", { class: "detail-grid" },
      h("section", { class: "card" },
        dl([
          [t("field_site"), alert.site],
          [t("field_household"), alert.household],
          [t("field_resident"), alert.resident],
          [t("field_device"), alert.device_id],
          [t("field_started"), h("span", { class: "started-at", dataset: { at: alert.started_at } },
            `${fmtSiteTime(alert.started_at, alert.site)} · ${fmtSiteRelative(alert.started_at, alert.site)}`)],
          [t("field_updated"), alert.updated_at ? fmtSiteTime(alert.updated_at, alert.site) : null],
          [t("field_resolved"), alert.resolved_at ? fmtSiteTime(alert.resolved_at, alert.site) : null],
          [t("field_resolution"), alert.resolution ? tv("cause", alert.resolution) : null],
          [t("field_count"), alert.count > 1 ? String(alert.count) : null],
        ])),
      h("section", { class: "card", "aria-labelledby": "evidence-heading" },
        h("h2", { id: "evidence-heading" }, t("evidence_heading")),
        evidence.length
          ? dl(evidence.map(([k, v]) => [k, evidenceValue(k, v, alert.site)]))
          : h("p", { class: "muted" }, t("evidence_empty"))),
      historyCard(alert)),
  );
  // A resolved alert's log is closed, whoever resolved it.
  if (alert.status === "resolved" && $("log-form")) renderIncidentForm(alert, null);
  renderClockBadge();
}

// ---------- incident log: what people did above, what the machine did folded below ----------

const MACHINE_ACTIONS = new Set(["notified", "notify-failed", "reminder"]);
const INCIDENT_ACTIONS = ["called", "dispatched", "arrived", "handed-over"];
const CALL_OUTCOMES = ["reached", "no_answer", "busy", "wrong_number"];
const SERVICES = ["119", "120"];
const CAUSES = ["real", "false_alarm", "test", "device_fault"];

function isMachineEntry(e) {
  return e.actor === "notifier" || MACHINE_ACTIONS.has(e.action);
}

function entryText(e) {
  const d = e.detail || {};
  if (e.action === "called") return t("log_called_text", { whom: d.whom, outcome: tv("outcome", d.outcome) });
  if (e.action === "dispatched") return t("log_dispatched_text", { whom: d.whom });
  if (e.action === "arrived") return d.whom ? t("log_arrived_by", { whom: d.whom }) : tv("action", e.action);
  if (e.action === "handed-over") return t("log_handed_over_text", { service: tv("service", d.service) });
  if (e.action === "resolved" && d.cause) return `${tv("action", e.action)}: ${tv("cause", d.cause)}`;
  return tv("action", e.action);
}

/** One line per escalation tier (and one for reminders) with counts, newest time last. */
function foldMachine(alert) {
  const lines = new Map();
  const line = (key, label) => {
    if (!lines.has(key)) lines.set(key, { label, delivered: 0, failed: 0, reminders: 0, last: null });
    return lines.get(key);
  };
  const later = (a, b) => (!a || Date.parse(b) > Date.parse(a) ? b : a);
  for (const n of alert.notifications || []) {
    if (n.result === "retrying") continue;
    const l = n.tier === null || n.tier === undefined
      ? line(`change:${n.change}`, t("fold_change", { change: tv("action", n.change), audience: tv("audience", n.audience) }))
      : line(`tier:${n.tier}`, t("fold_tier", { tier: n.tier, audience: tv("audience", n.audience) }));
    if (n.ok) l.delivered += 1;
    else l.failed += 1;
    l.last = later(l.last, n.at);
  }
  for (const e of alert.history || []) {
    if (e.action !== "reminder") continue;
    const l = line("reminders", t("fold_reminders", { audience: e.note || "" }));
    l.reminders += 1;
    l.last = later(l.last, e.at);
  }
  if (!(alert.notifications || []).length) {
    // A family's view has no notification log: count the notifier's history entries.
    for (const e of alert.history || []) {
      if (e.actor !== "notifier") continue;
      const l = line("notifier", t("fold_notifier"));
      if (e.action === "notified") l.delivered += 1;
      else l.failed += 1;
      l.last = later(l.last, e.at);
    }
  }
  return [...lines.values()];
}

function historyCard(alert) {
  const people = (alert.history || []).filter((e) => !isMachineEntry(e));
  const machine = foldMachine(alert);
  return h("section", { class: "card", "aria-labelledby": "history-heading" },
    h("h2", { id: "history-heading" }, t("history_heading")),
    h("ol", { class: "history", id: "history-entries" }, people.map((e) =>
      h("li", { class: `history-entry action-${e.action}`, dataset: { action: e.action, at: e.at } },
        h("span", { class: "history-action" }, entryText(e)), " ",
        h("time", { datetime: e.at, title: fmtSiteTime(e.at, alert.site) },
          `${fmtSiteClock(e.at, alert.site)} · ${fmtSiteRelative(e.at, alert.site)}`), " ",
        h("span", { class: "muted" }, t("history_by", { actor: e.actor })),
        e.note ? h("q", { class: "note" }, e.note) : null))),
    machine.length
      ? h("ul", { class: "history-machine", id: "history-machine", "aria-label": t("fold_heading") },
          machine.map((l) => h("li", { class: "machine-line" },
            h("span", {}, l.label), " ",
            h("span", { class: "muted" }, [
              l.delivered ? t("fold_delivered", { n: l.delivered }) : null,
              l.failed ? t("fold_failed", { n: l.failed }) : null,
              l.reminders ? t("fold_reminder_n", { n: l.reminders }) : null,
            ].filter(Boolean).join(" · ")),
            l.last ? [" · ", h("time", { datetime: l.last }, fmtSiteClock(l.last, alert.site))] : null)))
      : null);
}

/** A labelled control of a form. */
function formRow(id, label, control) {
  return h("div", { class: "form-row" }, h("label", { for: id }, label), control);
}

/** Draw the form `name` in `box`: its heading, `controls`, an error line and `buttons`. On
 * submit `send()` runs; what it throws shows on the error line. */
function renderForm(box, { name, heading, send }, controls, buttons) {
  const error = h("p", { class: "error", role: "alert", id: `${name}-error`, hidden: true });
  const onsubmit = async (event) => {
    event.preventDefault();
    try {
      await send();
      error.hidden = true;
    } catch (err) {
      error.textContent = errorText(err);
      error.hidden = false;
    }
  };
  replace(box,
    h("h2", { id: `${name}-heading` }, heading),
    h("form", { id: `${name}-form`, class: `${name}-form`, onsubmit, novalidate: true }, controls, error, buttons));
}

function select(id, values, label, { empty = true } = {}) {
  return h("select", { id, name: id },
    empty ? h("option", { value: "" }, "–") : null,
    values.map((v) => h("option", { value: v }, label(v))));
}

/** The incident log form: what the officer did, with whom (from the care record's responders). */
function renderIncidentForm(alert, care) {
  const box = $("incident-log");
  if (!box) return;
  if (alert.status === "resolved" || !state.me || !["officer", "admin"].includes(state.me.role)) {
    replace(box, h("h2", { id: "log-heading" }, t("log_heading")),
      h("p", { class: "muted" }, alert.status === "resolved" ? t("log_closed") : t("log_officers_only")));
    return;
  }
  const people = care ? [...care.responders, ...care.key_holders.filter((k) => !care.responders.some((r) => r.name === k.name))] : [];
  const action = select("log-action", INCIDENT_ACTIONS, (v) => tv("log_action", v), { empty: false });
  const whom = h("input", { id: "log-whom", name: "whom", list: "log-people", maxlength: 200, autocomplete: "off" });
  const outcome = select("log-outcome", CALL_OUTCOMES, (v) => tv("outcome", v));
  const service = select("log-service", SERVICES, (v) => tv("service", v));
  const note = h("input", { id: "log-note", name: "note", maxlength: 2000, autocomplete: "off" });
  const rows = {
    whom: formRow("log-whom", t("log_whom"), whom),
    outcome: formRow("log-outcome", t("log_outcome"), outcome),
    service: formRow("log-service", t("log_service"), service),
  };
  const shown = () => {
    const a = action.value;
    rows.whom.hidden = a === "handed-over";
    rows.outcome.hidden = a !== "called";
    rows.service.hidden = a !== "handed-over";
  };
  action.addEventListener("change", shown);
  shown();
  const send = async () => {
    const body = { action: action.value };
    if (!rows.whom.hidden && whom.value.trim()) body.whom = whom.value.trim();
    if (!rows.outcome.hidden && outcome.value) body.outcome = outcome.value;
    if (!rows.service.hidden && service.value) body.service = service.value;
    if (note.value.trim()) body.note = note.value.trim();
    const updated = await api(`alerts/${encodeURIComponent(alert.id)}/actions`, { method: "POST", body });
    upsert(updated);
    handled(alert.id);
    whom.value = "";
    note.value = "";
    outcome.value = "";
    service.value = "";
    announce($("announcer"), t("action_done", { action: tv("log_action", body.action) }));
    rerender({ alertId: alert.id });
  };
  renderForm(box, { name: "log", heading: t("log_heading"), send }, [
    formRow("log-action", t("log_action"), action),
    rows.whom, rows.outcome, rows.service,
    formRow("log-note", t("note_optional"), note),
    h("datalist", { id: "log-people" }, people.map((p) => h("option", { value: p.name }))),
  ], h("button", { type: "submit", class: "primary", id: "log-submit" }, t("log_submit")));
}

// ---------- care record: who is in danger, whom to call, how to get in ----------

async function loadCare(alert) {
  const box = $("care");
  if (!alert.household) {
    replace(box, h("h2", { id: "care-heading" }, t("care_heading")), h("p", { class: "muted" }, t("care_none")));
    return;
  }
  try {
    const care = await api(`alerts/${encodeURIComponent(alert.id)}/care`);
    renderCare(alert, care);
    renderIncidentForm(state.alerts.get(alert.id) || alert, care);
  } catch (err) {
    replace(box, h("h2", { id: "care-heading" }, t("care_heading")), h("p", { class: "error" }, errorText(err)));
  }
}

function tel(phone) {
  return h("a", { href: `tel:${phone.replace(/[^+0-9]/g, "")}`, class: "phone" }, phone);
}

function residentCare(r) {
  const facts = [
    r.age !== null ? t("care_age", { age: r.age, year: r.birth_year }) : null,
    r.language ? `${t("care_language")}: ${tv("language", r.language)}` : null,
    r.dementia ? t("care_dementia") : null,
  ].filter(Boolean).join(" · ");
  return h("li", { class: "care-resident", dataset: { resident: r.id } },
    h("strong", {}, r.name), facts ? h("span", { class: "muted" }, ` ${facts}`) : null,
    r.conditions.length ? h("p", { class: "conditions" }, `${t("care_conditions")}: ${r.conditions.join("; ")}`) : null,
    r.mobility ? h("p", { class: "mobility" }, `${t("care_mobility")}: ${r.mobility}`) : null);
}

function renderCare(alert, care) {
  const box = $("care");
  const canEdit = state.me && ["officer", "admin", "integrator"].includes(state.me.role);
  const place = [
    care.building ? t("building", { building: care.building }) : null,
    care.floor !== null ? t("care_floor", { floor: care.floor }) : null,
    care.unit ? t("care_unit", { unit: care.unit }) : null,
    care.lives_alone ? t("lives_alone") : null,
  ].filter(Boolean).join(" · ");
  replace(box,
    h("h2", { id: "care-heading" }, t("care_heading")),
    h("p", { class: "care-place", id: "care-place" }, place || care.household),
    h("ul", { class: "care-residents", id: "care-residents" }, care.residents.map(residentCare)),
    h("h3", {}, t("care_responders")),
    care.responders.length
      ? h("ol", { class: "responders", id: "care-responders" }, care.responders.map((p) =>
          h("li", { dataset: { relation: p.relation } },
            h("span", { class: "relation" }, tv("relation", p.relation)), " ",
            h("strong", {}, p.name), " ", tel(p.phone),
            p.note ? h("span", { class: "muted note" }, ` ${p.note}`) : null)))
      : h("p", { class: "muted" }, t("care_no_responders")),
    care.key_holders.length || care.access_notes
      ? [h("h3", {}, t("care_access")),
         h("ul", { class: "key-holders", id: "care-key-holders" }, care.key_holders.map((k) =>
           h("li", {}, h("strong", {}, k.name), " ", tel(k.phone),
             k.access_note ? h("span", { class: "access-note" }, ` ${k.access_note}`) : null))),
         care.access_notes ? h("p", { class: "access-note" }, care.access_notes) : null]
      : null,
    !care.access_shown ? h("p", { class: "muted" }, t("care_access_hidden")) : null,
    canEdit
      ? h("button", { type: "button", class: "tool", id: "care-edit", onclick: () => renderCareForm(alert, care) },
          t("care_edit"))
      : null);
}

const RELATIONS = ["family", "neighbour", "grid_worker"];

function linesOf(items, fields) {
  return items.map((item) => fields.map((f) => item[f] ?? "").join(" | ")).join("\n");
}

function parseLines(text, fields) {
  return text.split("\n").map((line) => line.trim()).filter(Boolean).map((line) => {
    const parts = line.split("|").map((p) => p.trim());
    const item = {};
    fields.forEach((f, i) => {
      if (parts[i]) item[f] = parts[i];
    });
    return item;
  });
}

/** Edit the care record: the household's place and people, and the alert's resident. */
function renderCareForm(alert, care) {
  const box = $("care");
  const first = care.residents[0];
  const field = (id, label, value, attrs = {}) =>
    formRow(id, label, h("input", { id, name: id, value: value ?? "", ...attrs }));
  const area = (id, label, hint, value) => formRow(id, label, [
    h("textarea", { id, name: id, rows: 3, "aria-describedby": `${id}-hint` }, value),
    h("p", { class: "hint", id: `${id}-hint` }, hint)]);
  const value = (id) => $(id).value.trim();
  const send = async () => {
    const household = {
      floor: value("care-floor-input") === "" ? null : Number(value("care-floor-input")),
      unit: value("care-unit-input") || null,
      responders: parseLines($("care-responders-input").value, ["relation", "name", "phone", "note"]),
      key_holders: parseLines($("care-keys-input").value, ["name", "phone", "access_note"]),
    };
    if (care.access_shown) household.access_notes = value("care-access-input") || null;
    let updated = await api(`households/${encodeURIComponent(care.household)}/care`, { method: "PATCH", body: household });
    if (first) {
      updated = await api(`residents/${encodeURIComponent(first.id)}/care`, {
        method: "PATCH",
        body: {
          birth_year: value("care-birth-input") === "" ? null : Number(value("care-birth-input")),
          conditions: value("care-conditions-input").split(";").map((c) => c.trim()).filter(Boolean),
          mobility: value("care-mobility-input") || null,
          language: value("care-language-input") || null,
        },
      });
    }
    announce($("announcer"), t("care_saved"));
    // The household's record comes back with the residents in stored order: ask again
    // for the alert's view of it.
    renderCare(alert, first ? await api(`alerts/${encodeURIComponent(alert.id)}/care`) : updated);
    $("care-edit")?.focus();
  };
  renderForm(box, { name: "care", heading: t("care_edit_heading"), send }, [
    field("care-floor-input", t("care_floor_label"), care.floor, { type: "number", min: -10, max: 300 }),
    field("care-unit-input", t("care_unit_label"), care.unit, { maxlength: 32 }),
    first ? [
      h("p", { class: "muted" }, first.name),
      field("care-birth-input", t("care_birth_year"), first.birth_year, { type: "number", min: 1880, max: 2100 }),
      field("care-conditions-input", t("care_conditions_label"), first.conditions.join("; "), { maxlength: 2000 }),
      field("care-mobility-input", t("care_mobility"), first.mobility, { maxlength: 500 }),
      field("care-language-input", t("care_language"), first.language, { maxlength: 35 }),
    ] : null,
    area("care-responders-input", t("care_responders"), t("care_responders_hint", { relations: RELATIONS.join(", ") }),
      linesOf(care.responders, ["relation", "name", "phone", "note"])),
    area("care-keys-input", t("care_key_holders"), t("care_keys_hint"),
      linesOf(care.key_holders, ["name", "phone", "access_note"])),
    care.access_shown ? field("care-access-input", t("care_access_notes"), care.access_notes, { maxlength: 500 }) : null,
  ], h("div", { class: "dialog-buttons" },
    h("button", { type: "button", onclick: () => renderCare(alert, care) }, t("dialog_cancel")),
    h("button", { type: "submit", class: "primary", id: "care-save" }, t("care_save"))));
  $("care-floor-input").focus();
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
    h("span", { class: "household-activity" }, `${t("last_activity")}: ${hh.last_activity ? fmtSiteRelative(hh.last_activity, site) : t("never")}`),
    hh.open_alerts
      ? h("span", { class: "household-alerts" },
          hh.worst_severity ? severityBadge(hh.worst_severity) : null, " ",
          t("open_alerts_n", { n: hh.open_alerts }))
      : null,
    hh.devices_offline ? h("span", { class: "household-problem" }, t("devices_offline", { n: hh.devices_offline })) : null,
    hh.battery_low ? h("span", { class: "household-problem" }, t("battery_low_n", { n: hh.battery_low })) : null),
  );
}

async function renderSite(view, site) {
  const data = await api(`sites/${encodeURIComponent(site)}/overview`);
  setClock(data.clock);
  renderClockBadge();
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

function renderSoundButton() {
  const b = $("sound");
  b.textContent = state.sound ? t("sound_on") : t("sound_off");
  b.setAttribute("aria-pressed", String(state.sound));
}

function init() {
  applyI18n();
  bindLangButton($("lang"));
  trapFocus($("note-dialog"));
  // Signing in is a gesture that may unlock the alarm sound.
  $("login-form").addEventListener("submit", unlockAudio);
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
  startSession({ start, showLogin, describe: errorText });
}

init();
