// One clock per site: the event time its alerts run on (GET /sites/{site}/clock, or the
// `clock` of a site overview or resident status). Every time shown is formatted in the
// site's time zone, and "5 minutes ago" counts from the site's clock, carried on by the
// time passed since it was read (as the server carries it on between messages).

import { h } from "./common.js";
import { fmtRelative, getLang, t } from "./i18n.js";

const clocks = new Map(); // site -> { nowMs, readAt, timezone, simulated }

/** Remember a site's clock as the API returned it. */
export function setClock(clock) {
  if (!clock) return;
  clocks.set(clock.site, {
    nowMs: clock.now_ms,
    readAt: performance.now(),
    timezone: clock.timezone,
    simulated: clock.simulated,
  });
}

/** The clock of `site` (null before it was read). */
export function getClock(site) {
  return clocks.get(site) || null;
}

/** The event time now at `site` in epoch ms (the browser's clock until it is known). */
export function siteNow(site) {
  const clock = clocks.get(site);
  return clock ? clock.nowMs + (performance.now() - clock.readAt) : Date.now();
}

function zoneOf(site) {
  const clock = clocks.get(site);
  return clock ? clock.timezone : undefined;
}

/** Date and time of an RFC 3339 string in the site's time zone. */
export function fmtSiteTime(iso, site) {
  if (!iso) return t("never");
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return new Intl.DateTimeFormat(getLang(), {
    dateStyle: "medium", timeStyle: "medium", timeZone: zoneOf(site),
  }).format(d);
}

/** Hours and minutes of an RFC 3339 string in the site's time zone. */
export function fmtSiteClock(iso, site) {
  return new Intl.DateTimeFormat(getLang(), {
    hour: "2-digit", minute: "2-digit", timeZone: zoneOf(site),
  }).format(new Date(iso));
}

/** "5 minutes ago", counted from the site's clock. */
export function fmtSiteRelative(iso, site) {
  return fmtRelative(iso, siteNow(site));
}

/** A <time> showing how long ago, with the full site time as its title. */
export function siteTimeEl(iso, site) {
  return h("time", { datetime: iso, title: fmtSiteTime(iso, site) }, fmtSiteRelative(iso, site));
}

/** The site's clock as a badge: "Simulated time · 29 Nov 2026, 14:05 (Asia/Shanghai)". */
export function clockBadge(site) {
  const clock = clocks.get(site);
  if (!clock) return null;
  const now = new Date(siteNow(site)).toISOString();
  return h("span", {
    class: `badge clock${clock.simulated ? " simulated" : ""}`,
    dataset: { site, simulated: String(clock.simulated), nowMs: String(Math.round(siteNow(site))) },
    title: t(clock.simulated ? "clock_simulated_hint" : "clock_site_hint"),
  }, `${clock.simulated ? `${t("clock_simulated")} · ` : ""}${fmtSiteTime(now, site)} (${clock.timezone})`);
}
