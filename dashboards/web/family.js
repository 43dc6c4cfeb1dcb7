// The family view: for each resident linked to the token, whether all is well, the last
// sign of activity, whether the home sensors work, and their alerts. Nothing else.
// #/residents/{id} shows one resident.

import {
  alertStream,
  api,
  ApiError,
  announce,
  clearToken,
  compareAlerts,
  exerciseBadge,
  h,
  replace,
  severityBadge,
  showLoginForm,
  startSession,
  statusBadge,
} from "./common.js";
import { applyI18n, bindLangButton, onLangChange, t, tv } from "./i18n.js";
import { clockBadge, fmtSiteRelative, fmtSiteTime, setClock, siteNow } from "./clock.js";

const $ = (id) => document.getElementById(id);
const REFRESH_MS = 60 * 1000;
const RECENT_ALERTS = 10;

const state = { me: null, stream: null, timer: null, pending: null, attention: new Map() };

function errorText(err) {
  if (err instanceof ApiError) {
    if (err.status === 0) return t("error_network");
    if (err.status === 404 || err.status === 403) return t("family_not_yours");
    return t("error_generic", { detail: err.detail });
  }
  return t("error_generic", { detail: String(err) });
}

function alertLine(alert) {
  const sev = String(alert.severity).toLowerCase();
  const reassurance =
    alert.status === "firing" ? t("family_alert_waiting")
    : alert.status === "acknowledged" ? t("family_alert_handled")
    : null;
  return h(
    "li",
    { class: `sev-${sev}`, dataset: { alertId: alert.id, status: alert.status } },
    h("span", { class: "alert-line" },
      severityBadge(alert.severity),
      tv("type", alert.type),
      statusBadge(alert.status),
      exerciseBadge(alert)),
    h("time", { datetime: alert.started_at, title: fmtSiteTime(alert.started_at, alert.site) },
      `${fmtSiteRelative(alert.started_at, alert.site)} · ${fmtSiteTime(alert.started_at, alert.site)}`),
    reassurance ? h("span", { class: "muted" }, reassurance) : null,
  );
}

function deviceProblem(d) {
  const what = [tv("kind", d.kind), d.room].filter(Boolean).join(", ");
  return h("li", {}, `${what}: ${tv("problem", d.problem)}`);
}

let lastSite = null; // the site whose clock the "updated" line reads

function residentCard(status, recent) {
  const open = [...status.open_alerts].sort(compareAlerts);
  const attention = open.length > 0;
  const problems = status.devices.filter((d) => d.problem);
  const openIds = new Set(open.map((a) => a.id));
  const past = recent.filter((a) => !openIds.has(a.id)).sort(compareAlerts);
  const r = status.resident;
  // Last activity and alert times are on the site's clock (the demo's is simulated).
  setClock(status.clock);
  const site = status.clock?.site;
  lastSite = site;
  return h(
    "article",
    {
      class: `card resident${attention ? " attention" : ""}`,
      "aria-labelledby": `resident-${r.id}`,
      dataset: { resident: r.id, state: attention ? "attention" : "ok" },
    },
    h("h2", { id: `resident-${r.id}` }, r.name),
    site ? h("p", { class: "site-clock" }, clockBadge(site)) : null,
    h("p", { class: `resident-state ${attention ? "attention" : "ok"}` },
      h("span", { "aria-hidden": "true" }, attention ? "!" : "✓"),
      attention ? t("family_attention") : t("family_ok")),
    h("dl", { class: "facts" },
      h("div", {},
        h("dt", {}, t("family_last_activity")),
        h("dd", { class: "last-activity" },
          status.last_activity
            ? h("time", { datetime: status.last_activity, title: fmtSiteTime(status.last_activity, site) },
                fmtSiteRelative(status.last_activity, site))
            : t("never"))),
      h("div", {},
        h("dt", {}, t("family_devices")),
        h("dd", { class: "devices-state" },
          status.devices_ok ? `✓ ${t("family_devices_ok")}` : t("family_devices_problem", { n: problems.length }),
          problems.length ? h("ul", { class: "device-problems" }, problems.map(deviceProblem)) : null))),
    open.length
      ? [h("h3", {}, t("family_open_alerts")), h("ul", { class: "family-alerts open-alerts" }, open.map(alertLine))]
      : null,
    h("h3", {}, t("family_recent_alerts")),
    past.length
      ? h("ul", { class: "family-alerts recent-alerts" }, past.map(alertLine))
      : h("p", { class: "muted" }, t("family_no_alerts")),
  );
}

async function loadResident(id) {
  const [status, recent] = await Promise.all([
    api(`residents/${encodeURIComponent(id)}/status`),
    api("alerts", { params: { resident: id, limit: RECENT_ALERTS } }).then((d) => d.data).catch(() => []),
  ]);
  return residentCard(status, recent);
}

function wantedResidents() {
  const m = location.hash.match(/^#\/residents\/([^/?]+)/);
  if (m) return { ids: [decodeURIComponent(m[1])], single: true };
  return { ids: state.me.residents || [], single: false };
}

async function render() {
  if (!state.me) return;
  const box = $("residents");
  const { ids, single } = wantedResidents();
  if (ids.length === 0) {
    replace(box, h("p", { class: "empty" }, t("family_no_residents")));
    return;
  }
  const cards = await Promise.all(ids.map((id) =>
    loadResident(id).catch((err) => {
      if (err instanceof ApiError && err.status === 401) throw err;
      return h("p", { class: "error", role: "alert", dataset: { resident: id } }, errorText(err));
    })));
  for (const card of cards) {
    const id = card.dataset.resident;
    const now = card.dataset.state;
    if (now && state.attention.has(id) && state.attention.get(id) !== now) {
      const name = card.querySelector("h2")?.textContent || id;
      announce($("announcer"), `${name}: ${now === "attention" ? t("family_attention") : t("family_ok")}`);
    }
    if (now) state.attention.set(id, now);
  }
  replace(
    box,
    cards,
    single && (state.me.residents || []).length > 1
      ? h("p", {}, h("a", { href: "#/" }, t("family_show_all")))
      : null,
    h("p", { class: "updated" }, t("family_updated", {
      time: fmtSiteTime(new Date(siteNow(lastSite)).toISOString(), lastSite),
    })),
  );
}

function refresh() {
  // Alert events can come in bursts; one reload covers them all.
  clearTimeout(state.pending);
  state.pending = setTimeout(() => {
    render().catch(onFailure);
  }, 300);
}

function onFailure(err) {
  if (err instanceof ApiError && err.status === 401) signOut();
  else replace($("residents"), h("p", { class: "error", role: "alert" }, errorText(err)));
}

function openStream() {
  if (state.stream) state.stream.close();
  state.stream = alertStream();
  state.stream.addEventListener("alert", refresh);
}

function showLogin(message) {
  state.me = null;
  showLoginForm(["family-view", "logout"], message);
}

function signOut() {
  clearToken();
  if (state.stream) state.stream.close();
  state.stream = null;
  clearInterval(state.timer);
  state.attention.clear();
  replace($("residents"));
  showLogin();
}

async function start(me) {
  if (me.role !== "family") {
    location.replace("index.html");
    return;
  }
  state.me = me;
  $("login-view").hidden = true;
  $("login-error").hidden = true;
  $("family-view").hidden = false;
  $("logout").hidden = false;
  replace($("residents"), h("p", { class: "muted" }, t("loading")));
  await render().catch(onFailure);
  $("family-heading").focus();
  openStream();
  clearInterval(state.timer);
  state.timer = setInterval(refresh, REFRESH_MS);
}

function init() {
  applyI18n();
  document.title = t("family_title");
  bindLangButton($("lang"));
  $("logout").addEventListener("click", signOut);
  window.addEventListener("hashchange", refresh);
  onLangChange(() => {
    document.title = t("family_title");
    if (state.me) render().catch(onFailure);
  });
  startSession({ start, showLogin, describe: errorText });
}

init();
