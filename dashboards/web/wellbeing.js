// The weekly wellbeing digest, "who needs a visit": a site's households ranked by how far
// their week drifted from their own previous weeks, each figure against its baseline with a
// sparkline of its weeks, and the same table as CSV. Officers and admins only.

import { api, ApiError, announce, download, h, replace } from "./common.js";
import { $, startDutyPage } from "./dutypage.js";
import { getLang } from "./i18n.js";
const SVG = "http://www.w3.org/2000/svg";

// This page's words; the shared ones (sign in, navigation) come from i18n.js.
const TEXT = {
  en: {
    title: "Wellbeing digest",
    intro: "Each household's week against its own previous weeks. Ranked by drift score: the sum of how many spreads each figure moved the concerning way (less activity, outings and water; more night activity and days at home).",
    site: "Site",
    week: "Week",
    csv: "Download CSV",
    rank: "#",
    household: "Household",
    status: "Status",
    score: "Drift",
    visit: "needs a visit",
    steady: "steady",
    learning: "learning",
    days: "{days} days observed",
    baseline: "usual {value}",
    empty: "No households on this site.",
    shown: "Week {week}: {visit} of {total} households need a visit.",
    forbidden: "The wellbeing digest is for duty officers.",
    failed: "Could not load the digest: {detail}",
  },
  "zh-CN": {
    title: "每周关怀摘要",
    intro: "每户本周情况与其自身前几周相比。按偏离分数排序：各项指标向需要关注的方向偏离的幅度之和（活动、外出、用水减少；夜间活动、足不出户天数增加）。",
    site: "社区",
    week: "周",
    csv: "下载 CSV",
    rank: "#",
    household: "住户",
    status: "状态",
    score: "偏离",
    visit: "需要探访",
    steady: "平稳",
    learning: "学习中",
    days: "观察 {days} 天",
    baseline: "平常 {value}",
    empty: "该社区没有住户。",
    shown: "{week} 周：{total} 户中有 {visit} 户需要探访。",
    forbidden: "每周关怀摘要仅供值班人员查看。",
    failed: "无法加载摘要：{detail}",
  },
};
const METRIC_LABELS = {
  "zh-CN": {
    activity_hours: "活动", night_bouts: "夜间活动", outings: "外出",
    days_home: "足不出户天数", water_litres: "用水",
  },
};

function w(key, vars = {}) {
  const text = (TEXT[getLang()] || TEXT.en)[key] ?? TEXT.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? String(vars[name]) : m));
}

function metricLabel(m) {
  return (METRIC_LABELS[getLang()] || {})[m.name] ?? m.label;
}

const state = { digest: null };

function fmt(value) {
  if (value === null || value === undefined) return "–";
  return Math.abs(value) >= 100 ? String(Math.round(value)) : value.toFixed(1);
}

/** A small line over the weeks; the last week's point stands out. */
function sparkline(series, concerning) {
  const width = 84;
  const height = 22;
  const known = series.map((v, i) => [i, v]).filter(([, v]) => v !== null);
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("class", "sparkline");
  svg.setAttribute("width", width);
  svg.setAttribute("height", height);
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("aria-hidden", "true");
  if (known.length === 0) return svg;
  const values = known.map(([, v]) => v);
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const x = (i) => 3 + (i * (width - 6)) / Math.max(1, series.length - 1);
  const y = (v) => (hi === lo ? height / 2 : height - 3 - ((v - lo) * (height - 6)) / (hi - lo));
  const line = document.createElementNS(SVG, "polyline");
  line.setAttribute("points", known.map(([i, v]) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(" "));
  line.setAttribute("fill", "none");
  line.setAttribute("stroke", "currentColor");
  line.setAttribute("stroke-width", "1.5");
  svg.appendChild(line);
  const [li, lv] = known[known.length - 1];
  const dot = document.createElementNS(SVG, "circle");
  dot.setAttribute("cx", x(li).toFixed(1));
  dot.setAttribute("cy", y(lv).toFixed(1));
  dot.setAttribute("r", "2.5");
  dot.setAttribute("class", concerning ? "spark-last concerning" : "spark-last");
  svg.appendChild(dot);
  return svg;
}

function metricCell(m) {
  const concerning = m.score > 0;
  const arrow = m.z === null ? "" : m.z > 0.5 ? "▲" : m.z < -0.5 ? "▼" : "";
  return h(
    "td",
    { class: `metric${concerning ? " concerning" : ""}`, dataset: { metric: m.name, score: String(m.score) },
      title: `${metricLabel(m)}: ${fmt(m.value)} ${m.unit}; ${w("baseline", { value: fmt(m.baseline) })}; z ${fmt(m.z)}` },
    h("span", { class: "metric-value" }, `${fmt(m.value)} ${arrow}`),
    h("span", { class: "metric-baseline muted" }, w("baseline", { value: fmt(m.baseline) })),
    sparkline(m.series, concerning),
  );
}

function householdRow(hh, site) {
  const alerts = `index.html#/alerts?household=${encodeURIComponent(hh.household)}&site=${encodeURIComponent(site)}`;
  return h(
    "tr",
    { class: `digest-row status-${hh.status}`, dataset: { household: hh.household, status: hh.status } },
    h("td", {}, String(hh.rank)),
    h("th", { scope: "row" },
      h("a", { href: alerts, class: "digest-household" }, hh.household),
      h("span", { class: "muted household-residents" }, hh.residents.map((r) => r.name).join(", "))),
    h("td", {}, h("span", { class: `badge wellbeing-${hh.status}` }, w(hh.status)),
      h("span", { class: "muted digest-days" }, w("days", { days: hh.days_observed }))),
    h("td", { class: "score" }, hh.score.toFixed(1)),
    hh.metrics.map(metricCell),
  );
}

function render() {
  const digest = state.digest;
  $("digest-heading").textContent = w("title");
  $("digest-intro").textContent = w("intro");
  $("site-label").textContent = w("site");
  $("week-label").textContent = w("week");
  $("csv").textContent = w("csv");
  document.title = `safehood ${w("title")}`;
  if (!digest) return;
  if (digest.households.length === 0) {
    replace($("digest"), h("p", { class: "muted" }, w("empty")));
    return;
  }
  const metrics = digest.households[0].metrics;
  const visit = digest.households.filter((x) => x.status === "visit").length;
  replace(
    $("digest"),
    h("p", { id: "digest-summary" }, w("shown", { week: digest.week, visit, total: digest.households.length })),
    h("table", { class: "digest" },
      h("thead", {}, h("tr", {},
        h("th", { scope: "col" }, w("rank")),
        h("th", { scope: "col" }, w("household")),
        h("th", { scope: "col" }, w("status")),
        h("th", { scope: "col" }, w("score")),
        metrics.map((m) => h("th", { scope: "col" }, `${metricLabel(m)} (${m.unit})`)))),
      h("tbody", {}, digest.households.map((hh) => householdRow(hh, digest.site)))),
  );
}

function showError(err) {
  const box = $("digest-error");
  box.textContent =
    err instanceof ApiError && err.status === 403 ? w("forbidden") : w("failed", { detail: err.detail || String(err) });
  box.hidden = false;
}

async function load() {
  const site = $("site").value;
  if (!site) return;
  $("digest-error").hidden = true;
  try {
    state.digest = await api(`sites/${encodeURIComponent(site)}/wellbeing`, { params: { week: $("week").value } });
  } catch (err) {
    state.digest = null;
    replace($("digest"));
    showError(err);
    return;
  }
  if (!$("week").value) $("week").value = state.digest.week;
  render();
  announce($("announcer"), $("digest-summary")?.textContent || "");
}

function downloadCsv() {
  const site = $("site").value;
  return download(`sites/${encodeURIComponent(site)}/wellbeing.csv`, { week: $("week").value },
    `wellbeing-${site}-${$("week").value}.csv`).catch(showError);
}

// The page's own frame parts and words; signing in, the language and the site picker are the
// duty pages' (dutypage.js).
$("site").addEventListener("change", () => {
  $("week").value = ""; // before the frame's listener loads the new site
});
$("week").addEventListener("change", load);
$("csv").addEventListener("click", downloadCsv);
startDutyPage({
  load,
  render,
  parts: ["digest-view", "nav", "logout"],
  heading: "digest-heading",
  showError,
  describe: (err) => w("failed", { detail: err.detail || String(err) }),
  onSignOut: () => {
    state.digest = null;
    replace($("digest"));
  },
});

