// The building plan: each building of a site as floors of flats, top floor first, every
// flat coloured by its most severe open alert and refreshed every few seconds. A fire
// outlines the flats on its floor and above (the API's `at_risk`): those to evacuate.

import { announce, api, h, replace, severityBadge } from "./common.js";
import { fmtClock, t, tv } from "./i18n.js";
import { $, clearError, showError, startDutyPage } from "./dutypage.js";

const REFRESH_MS = 5000;
const state = { plan: null, updated: null, timer: null, burning: new Set() };

function unitCell(unit) {
  const sev = unit.worst_severity ? unit.worst_severity.toLowerCase() : "none";
  const classes = ["unit", `unit-${sev}`];
  if (unit.fire) classes.push("unit-fire");
  else if (unit.at_risk) classes.push("unit-at-risk");
  const label = unit.unit ? t("building_unit", { unit: unit.unit }) : unit.household;
  const first = unit.open_alerts[0];
  const alertsLink = `index.html#/alerts?household=${encodeURIComponent(unit.household)}`;
  return h(
    "li",
    { class: classes.join(" "), dataset: { household: unit.household, unit: unit.unit || "" } },
    h("a", { href: alertsLink, class: "unit-name" }, label),
    h("span", { class: "unit-household muted" }, unit.household),
    h("span", { class: "unit-residents" },
      unit.residents.map((r) => r.name).join(", "),
      unit.lives_alone ? ` · ${t("building_alone")}` : ""),
    unit.fire ? h("strong", { class: "unit-flag" }, t("building_on_fire"))
      : unit.at_risk ? h("strong", { class: "unit-flag" }, t("building_at_risk")) : null,
    first
      ? h("span", { class: "unit-alerts" },
          severityBadge(first.severity), " ",
          unit.open_alerts.map((a) => tv("type", a.type)).join(", "))
      : h("span", { class: "unit-quiet muted" }, t("building_quiet")),
  );
}

function buildingCard(building) {
  return h(
    "section",
    { class: `building card${building.fire ? " building-fire" : ""}`, dataset: { building: building.id },
      "aria-label": t("building_name", { id: building.id }) },
    h("h2", {}, t("building_name", { id: building.id })),
    building.fire ? h("p", { class: "building-alarm", role: "alert" }, t("building_fire")) : null,
    building.floors.map((floor) =>
      h("div", { class: "floor", dataset: { floor: floor.floor ?? "" } },
        h("h3", { class: "floor-name" },
          floor.floor === null ? t("building_floor_unknown") : t("building_floor", { floor: floor.floor })),
        h("ul", { class: "units" }, floor.units.map(unitCell)))),
  );
}

function legend() {
  const items = [
    ["unit-extreme", tv("severity", "Extreme")],
    ["unit-severe", tv("severity", "Severe")],
    ["unit-moderate", tv("severity", "Moderate")],
    ["unit-minor", tv("severity", "Minor")],
    ["unit-none", t("building_quiet")],
    ["unit-none unit-fire", t("building_on_fire")],
    ["unit-none unit-at-risk", t("building_at_risk")],
  ];
  return items.map(([cls, text]) => h("li", {}, h("span", { class: `swatch unit ${cls}`, "aria-hidden": "true" }), text));
}

function render() {
  document.title = `safehood ${t("building_title")}`;
  replace($("legend"), legend());
  const plan = state.plan;
  if (!plan) return;
  if (plan.buildings.length === 0) {
    replace($("plan"), h("p", { class: "muted" }, t("building_empty")));
    $("plan-summary").textContent = "";
    return;
  }
  const units = plan.buildings.flatMap((b) => b.floors.flatMap((f) => f.units));
  $("plan-summary").textContent = `${t("building_summary", {
    buildings: plan.buildings.length,
    units: units.length,
    alerts: units.filter((u) => u.open_alerts.length > 0).length,
    risk: units.filter((u) => u.at_risk).length,
  })} ${t("building_updated", { time: fmtClock(state.updated) })}`;
  replace($("plan"), plan.buildings.map(buildingCard));
}

async function load(site) {
  clearTimeout(state.timer);
  if (!site) return;
  try {
    state.plan = await api(`sites/${encodeURIComponent(site)}/plan`);
    state.updated = Date.now();
    clearError();
  } catch (err) {
    showError(err);
  }
  render();
  const burning = new Set((state.plan?.buildings || []).filter((b) => b.fire).map((b) => b.id));
  for (const id of burning) {
    if (!state.burning.has(id)) announce($("announcer"), `${t("building_name", { id })}: ${t("building_fire")}`);
  }
  state.burning = burning;
  state.timer = setTimeout(() => load($("site").value), REFRESH_MS);
}

startDutyPage({ load, render });
