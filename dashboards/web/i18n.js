// Interface text in English and Simplified Chinese, and the language switch.
// Static markup names its text with data-i18n="key" (textContent) and
// data-i18n-attr="attribute:key;attribute:key"; scripts call t(key, vars).

const STORAGE_KEY = "safehood.lang";
export const LANGS = ["en", "zh-CN"];

const DICT = {
  en: {
    lang_name: "English",
    lang_switch_label: "Switch language to Chinese",
    app_title: "safehood duty desk",
    family_title: "safehood family view",
    skip_to_main: "Skip to main content",
    login_heading: "Sign in",
    login_token_label: "Access token",
    login_hint: "Paste the access token your administrator gave you.",
    login_submit: "Sign in",
    login_failed: "The token was not accepted. Check it and try again.",
    login_family_redirect: "This is a family token: opening the family view.",
    login_officer_redirect: "This token is not a family token: opening the duty desk.",
    logout: "Sign out",
    signed_in_as: "Signed in as {name}",
    nav_label: "Main",
    nav_alerts: "Alerts",
    nav_sites: "Sites",
    nav_devices: "Device health",
    nav_wellbeing: "Wellbeing",
    live_connecting: "Connecting…",
    live_connected: "Live",
    live_reconnecting: "Reconnecting…",
    sound_on: "Sound on",
    sound_off: "Sound off",
    show_resolved: "Show resolved",
    alerts_heading: "Alerts",
    alerts_empty: "No alerts. All quiet.",
    alerts_count: "{open} open, {total} shown",
    col_severity: "Severity",
    col_alert: "Alert",
    col_where: "Where",
    col_started: "Started",
    col_status: "Status",
    col_actions: "Actions",
    action_acknowledge: "Acknowledge",
    action_escalate: "Escalate",
    action_resolve: "Resolve",
    action_details: "Details",
    actions_for: "Actions for {alert}",
    dialog_acknowledge: "Acknowledge alert",
    dialog_escalate: "Escalate alert",
    dialog_resolve: "Resolve alert",
    note_label: "Note",
    note_optional: "Note (optional)",
    note_required: "Write what was done: a note is required to resolve an alert.",
    dialog_confirm: "Confirm",
    dialog_cancel: "Cancel",
    action_done: "{action}: done.",
    banner_new_critical: "New {severity} alert: {type}, {where}",
    banner_dismiss: "Dismiss",
    new_badge: "NEW",
    exercise_badge: "Exercise",
    exercise_hint: "An exercise: simulated traffic, not a real emergency.",
    announce_new: "New {severity} alert: {type}, {where}",
    announce_changed: "Alert {type}, {where} is now {status}",
    back_to_alerts: "Back to alerts",
    detail_heading: "{type} alert",
    field_site: "Site",
    field_household: "Household",
    field_resident: "Resident",
    field_device: "Device",
    field_started: "Started",
    field_updated: "Updated",
    field_resolved: "Resolved",
    field_count: "Occurrences",
    field_status: "Status",
    field_severity: "Severity",
    evidence_heading: "Evidence",
    evidence_empty: "The detector recorded no evidence.",
    history_heading: "History",
    history_by: "by {actor}",
    readings_heading: "Device readings, 30 minutes either side of the start",
    readings_none: "No readings from this device in this window.",
    readings_no_device: "This alert is not about a single device.",
    readings_table: "Readings as a table",
    readings_chart_label: "{field} of {device} from {start} to {end}; the alert started at {at}",
    col_time: "Time",
    col_channel: "Channel",
    col_values: "Values",
    alert_started_marker: "alert",
    sites_heading: "Sites",
    sites_empty: "No sites in your scope.",
    site_summary: "{households} households, {devices} devices, {open} open alerts",
    site_heading: "Site {site}",
    site_empty: "No households registered at this site.",
    legend: "Legend",
    state_alert: "Alert",
    state_device_problem: "Device problem",
    state_quiet: "Quiet",
    household_card_label: "Household {id}",
    building: "Building {building}",
    lives_alone: "Lives alone",
    last_activity: "Last activity",
    devices_offline: "{n} offline",
    battery_low_n: "{n} battery low",
    open_alerts_n: "{n} open alerts",
    devices_heading: "Device health",
    problems_only: "Problems only",
    devices_empty: "No devices to show.",
    col_device: "Device",
    col_kind: "Kind",
    col_household: "Household",
    col_room: "Room",
    col_last_seen: "Last seen",
    col_online: "Online",
    col_battery: "Battery",
    col_rssi: "Signal",
    col_problem: "Problem",
    yes: "yes",
    no: "no",
    unknown: "unknown",
    never: "never",
    none: "none",
    problem_offline: "Offline",
    problem_battery_low: "Battery low",
    problem_silent: "Silent",
    problem_none: "OK",
    loading: "Loading…",
    error_generic: "Something went wrong: {detail}",
    error_network: "The server cannot be reached. Retrying…",
    error_not_found: "Not found, or not in your scope.",
    error_forbidden: "Your token does not allow this.",
    family_heading: "Your family",
    family_intro: "How your relative is doing, from the sensors at home.",
    family_ok: "All is well",
    family_attention: "Needs attention",
    family_last_activity: "Last sign of activity",
    family_devices: "Home sensors",
    family_devices_ok: "All working",
    family_devices_problem: "{n} need attention",
    family_open_alerts: "Open alerts",
    family_recent_alerts: "Recent alerts",
    family_no_alerts: "No alerts.",
    family_no_residents: "No resident is linked to this token.",
    family_not_yours: "This resident was not found or is not linked to your account.",
    family_updated: "Updated {time}",
    family_show_all: "Show all my relatives",
    family_alert_handled: "A duty officer is handling it.",
    family_alert_waiting: "The duty officer has been alerted.",
    type_fire: "Fire",
    type_smoke: "Smoke",
    type_fall: "Fall",
    type_sos: "SOS call",
    type_water_leak: "Water leak",
    type_inactivity: "No activity",
    type_night_wandering: "Night wandering",
    type_door_left_open: "Door left open",
    type_forced_entry: "Forced entry",
    type_device_offline: "Device offline",
    type_site_offline: "Site offline",
    type_battery_low: "Battery low",
    type_tamper: "Tamper",
    type_abnormal_routine: "Unusual routine",
    severity_Extreme: "Extreme",
    severity_Severe: "Severe",
    severity_Moderate: "Moderate",
    severity_Minor: "Minor",
    status_firing: "Firing",
    status_acknowledged: "Acknowledged",
    status_resolved: "Resolved",
    action_raised: "Raised",
    action_raise: "Raised",
    action_updated: "Updated",
    action_update: "Updated",
    action_acknowledged: "Acknowledged",
    action_escalated: "Escalated",
    action_resolved: "Resolved",
    action_cleared: "Cleared",
    action_reminder: "Reminder",
    action_notified: "Notified",
    kind_smoke: "Smoke detector",
    kind_wearable: "Wearable",
    kind_water: "Water sensor",
    kind_door: "Door sensor",
    kind_motion: "Motion sensor",
    kind_button: "SOS button",
  },
  "zh-CN": {
    lang_name: "中文",
    lang_switch_label: "切换为英文界面",
    app_title: "safehood 值班台",
    family_title: "safehood 家属查看",
    skip_to_main: "跳到主要内容",
    login_heading: "登录",
    login_token_label: "访问令牌",
    login_hint: "请粘贴管理员发给您的访问令牌。",
    login_submit: "登录",
    login_failed: "令牌无效，请检查后重试。",
    login_family_redirect: "这是家属令牌：正在打开家属页面。",
    login_officer_redirect: "这不是家属令牌：正在打开值班台。",
    logout: "退出",
    signed_in_as: "当前用户：{name}",
    nav_label: "主菜单",
    nav_alerts: "警报",
    nav_sites: "小区",
    nav_devices: "设备状态",
    nav_wellbeing: "每周关怀",
    live_connecting: "正在连接…",
    live_connected: "实时",
    live_reconnecting: "正在重新连接…",
    sound_on: "声音：开",
    sound_off: "声音：关",
    show_resolved: "显示已解决",
    alerts_heading: "警报",
    alerts_empty: "没有警报，一切正常。",
    alerts_count: "{open} 条未结束，共显示 {total} 条",
    col_severity: "级别",
    col_alert: "警报",
    col_where: "位置",
    col_started: "开始时间",
    col_status: "状态",
    col_actions: "操作",
    action_acknowledge: "确认",
    action_escalate: "升级",
    action_resolve: "解决",
    action_details: "详情",
    actions_for: "{alert} 的操作",
    dialog_acknowledge: "确认警报",
    dialog_escalate: "升级警报",
    dialog_resolve: "解决警报",
    note_label: "备注",
    note_optional: "备注（可选）",
    note_required: "请写明处理情况：解决警报必须填写备注。",
    dialog_confirm: "提交",
    dialog_cancel: "取消",
    action_done: "{action}：已完成。",
    banner_new_critical: "新的{severity}警报：{type}，{where}",
    banner_dismiss: "关闭",
    new_badge: "新",
    exercise_badge: "演练",
    exercise_hint: "演练：模拟数据，并非真实紧急情况。",
    announce_new: "新的{severity}警报：{type}，{where}",
    announce_changed: "警报 {type}（{where}）现在{status}",
    back_to_alerts: "返回警报列表",
    detail_heading: "{type}警报",
    field_site: "小区",
    field_household: "住户",
    field_resident: "居民",
    field_device: "设备",
    field_started: "开始时间",
    field_updated: "更新时间",
    field_resolved: "解决时间",
    field_count: "发生次数",
    field_status: "状态",
    field_severity: "级别",
    evidence_heading: "依据",
    evidence_empty: "检测器没有记录依据。",
    history_heading: "处理记录",
    history_by: "操作人：{actor}",
    readings_heading: "设备读数（警报开始前后各 30 分钟）",
    readings_none: "该时段内没有此设备的读数。",
    readings_no_device: "此警报不针对单个设备。",
    readings_table: "读数表格",
    readings_chart_label: "{device} 的 {field}，{start} 至 {end}；警报开始于 {at}",
    col_time: "时间",
    col_channel: "通道",
    col_values: "数值",
    alert_started_marker: "警报",
    sites_heading: "小区",
    sites_empty: "您的权限范围内没有小区。",
    site_summary: "{households} 户，{devices} 个设备，{open} 条未结束警报",
    site_heading: "小区 {site}",
    site_empty: "该小区没有登记住户。",
    legend: "图例",
    state_alert: "有警报",
    state_device_problem: "设备异常",
    state_quiet: "正常",
    household_card_label: "住户 {id}",
    building: "{building} 栋",
    lives_alone: "独居",
    last_activity: "最近活动",
    devices_offline: "{n} 个离线",
    battery_low_n: "{n} 个电量低",
    open_alerts_n: "{n} 条未结束警报",
    devices_heading: "设备状态",
    problems_only: "只看异常",
    devices_empty: "没有可显示的设备。",
    col_device: "设备",
    col_kind: "类型",
    col_household: "住户",
    col_room: "房间",
    col_last_seen: "最近上报",
    col_online: "在线",
    col_battery: "电量",
    col_rssi: "信号",
    col_problem: "问题",
    yes: "是",
    no: "否",
    unknown: "未知",
    never: "从未",
    none: "无",
    problem_offline: "离线",
    problem_battery_low: "电量低",
    problem_silent: "长时间无数据",
    problem_none: "正常",
    loading: "正在加载…",
    error_generic: "出错了：{detail}",
    error_network: "无法连接服务器，正在重试…",
    error_not_found: "未找到，或不在您的权限范围内。",
    error_forbidden: "您的令牌无权进行此操作。",
    family_heading: "您的家人",
    family_intro: "根据家中传感器，了解家人的情况。",
    family_ok: "一切正常",
    family_attention: "需要关注",
    family_last_activity: "最近一次活动",
    family_devices: "家中传感器",
    family_devices_ok: "全部正常",
    family_devices_problem: "{n} 个需要检查",
    family_open_alerts: "未结束的警报",
    family_recent_alerts: "最近的警报",
    family_no_alerts: "没有警报。",
    family_no_residents: "此令牌没有关联任何居民。",
    family_not_yours: "未找到该居民，或该居民未与您的账户关联。",
    family_updated: "更新于 {time}",
    family_show_all: "查看我的所有家人",
    family_alert_handled: "值班人员正在处理。",
    family_alert_waiting: "已通知值班人员。",
    type_fire: "火警",
    type_smoke: "烟雾",
    type_fall: "跌倒",
    type_sos: "紧急呼叫",
    type_water_leak: "漏水",
    type_inactivity: "长时间无活动",
    type_night_wandering: "夜间外出",
    type_door_left_open: "门未关",
    type_forced_entry: "强行闯入",
    type_device_offline: "设备离线",
    type_site_offline: "小区离线",
    type_battery_low: "电量低",
    type_tamper: "设备被拆动",
    type_abnormal_routine: "作息异常",
    severity_Extreme: "特别严重",
    severity_Severe: "严重",
    severity_Moderate: "中等",
    severity_Minor: "轻微",
    status_firing: "未处理",
    status_acknowledged: "已确认",
    status_resolved: "已解决",
    action_raised: "触发",
    action_raise: "触发",
    action_updated: "更新",
    action_update: "更新",
    action_acknowledged: "确认",
    action_escalated: "升级",
    action_resolved: "解决",
    action_cleared: "自动解除",
    action_reminder: "提醒",
    action_notified: "已通知",
    kind_smoke: "烟感",
    kind_wearable: "手环",
    kind_water: "水浸传感器",
    kind_door: "门磁",
    kind_motion: "人体感应",
    kind_button: "紧急按钮",
  },
};

// Building plan, response metrics and shift handover (issue 13, part 2).
Object.assign(DICT.en, {
  nav_building: "Building",
  nav_metrics: "Response",
  site_label: "Site",
  building_title: "Building plan",
  building_intro: "Every flat of the site, top floor first, coloured by its most severe open alert. A fire outlines the flats on its floor and above it: they are evacuated.",
  building_name: "Building {id}",
  building_fire: "FIRE: evacuate the marked flats",
  building_floor: "Floor {floor}",
  building_floor_unknown: "Floor not known",
  building_unit: "Unit {unit}",
  building_quiet: "Quiet",
  building_at_risk: "At risk",
  building_on_fire: "On fire",
  building_alone: "lives alone",
  building_legend: "Key",
  building_empty: "No buildings with households on this site.",
  building_summary: "{buildings} buildings, {units} flats, {alerts} with open alerts, {risk} at risk.",
  building_updated: "Updated {time}",
  metrics_title: "Response times",
  metrics_intro: "Time to acknowledge and to resolve, per alert type and shift, from when the alert was raised. Share within 60 s counts every alert of the group; one never answered counts as late.",
  metrics_days: "Days",
  metrics_by: "Group",
  metrics_by_shift: "Each shift",
  metrics_by_name: "Shift start, all days",
  metrics_shift: "Shift",
  metrics_type: "Alert type",
  metrics_count: "Alerts",
  metrics_ack: "Acknowledge",
  metrics_resolve: "Resolve",
  metrics_median: "Median",
  metrics_p90: "p90",
  metrics_within: "Within 60 s",
  metrics_all_types: "All types",
  metrics_empty: "No alerts in this period.",
  metrics_zone: "Shifts start at {starts} ({zone}).",
  handover_title: "Shift handover",
  handover_at: "As of",
  handover_print: "Print",
  handover_csv: "Download CSV",
  handover_shift: "Shift {shift} ({zone})",
  handover_open: "Open alerts ({n})",
  handover_happened: "What happened this shift ({n})",
  handover_unacked: "Reminded, still not acknowledged ({n})",
  handover_reminders: "{n} reminders",
  handover_none: "None.",
  handover_household: "Household",
  handover_started: "Raised",
  handover_acknowledged: "Acknowledged",
  handover_resolved: "Resolved",
  duty_forbidden: "This page is for duty officers.",
  duty_failed: "Could not load: {detail}",
  silences_title: "Silences and quiet hours",
  silences_intro: "While a silence is in force, matching alerts are recorded but nobody is notified. Quiet hours repeat every week, in the site's time zone.",
  silences_none: "No silences.",
  silences_days: "Days",
  silences_from: "From",
  silences_to: "To",
  silences_comment: "Why",
  silences_add: "Add quiet hours",
  silences_end: "End",
  silences_active: "in force",
  silences_inactive: "not now",
  silences_by: "by {who}, {when}",
  silences_window: "{start} – {end}",
  silences_weekly: "weekly: {days} {start}–{end} ({zone})",
  silences_scope: "Applies to",
  silences_all_types: "every alert type",
  day_0: "Mon",
  day_1: "Tue",
  day_2: "Wed",
  day_3: "Thu",
  day_4: "Fri",
  day_5: "Sat",
  day_6: "Sun",
});
Object.assign(DICT["zh-CN"], {
  nav_building: "楼栋",
  nav_metrics: "响应",
  site_label: "社区",
  building_title: "楼栋平面",
  building_intro: "社区每户按楼层排列（顶层在上），颜色表示最严重的未结警报。发生火警时，同层及以上各户加框标出，需要疏散。",
  building_name: "{id}栋",
  building_fire: "火警：请疏散标出的住户",
  building_floor: "{floor}层",
  building_floor_unknown: "楼层未知",
  building_unit: "{unit}室",
  building_quiet: "无警报",
  building_at_risk: "受威胁",
  building_on_fire: "起火",
  building_alone: "独居",
  building_legend: "图例",
  building_empty: "该社区没有登记住户的楼栋。",
  building_summary: "{buildings} 栋楼，{units} 户，{alerts} 户有未结警报，{risk} 户受威胁。",
  building_updated: "更新于 {time}",
  metrics_title: "响应时间",
  metrics_intro: "从警报发出到确认、到解决的时间，按警报类型和班次统计。“60 秒内”按该组全部警报计算，未响应的计为超时。",
  metrics_days: "天数",
  metrics_by: "分组",
  metrics_by_shift: "逐个班次",
  metrics_by_name: "按班次开始时间（所有日期）",
  metrics_shift: "班次",
  metrics_type: "警报类型",
  metrics_count: "警报数",
  metrics_ack: "确认",
  metrics_resolve: "解决",
  metrics_median: "中位数",
  metrics_p90: "90 分位",
  metrics_within: "60 秒内",
  metrics_all_types: "全部类型",
  metrics_empty: "该时段没有警报。",
  metrics_zone: "班次开始于 {starts}（{zone}）。",
  handover_title: "交接班报告",
  handover_at: "截至",
  handover_print: "打印",
  handover_csv: "下载 CSV",
  handover_shift: "班次 {shift}（{zone}）",
  handover_open: "未结警报（{n}）",
  handover_happened: "本班发生（{n}）",
  handover_unacked: "已提醒仍未确认（{n}）",
  handover_reminders: "提醒 {n} 次",
  handover_none: "无。",
  handover_household: "住户",
  handover_started: "发出",
  handover_acknowledged: "确认",
  handover_resolved: "解决",
  duty_forbidden: "此页面仅供值班人员使用。",
  duty_failed: "无法加载：{detail}",
  silences_title: "静默与免打扰时段",
  silences_intro: "静默生效期间，匹配的警报照常记录，但不发送通知。免打扰时段按社区时区每周重复。",
  silences_none: "没有静默。",
  silences_days: "星期",
  silences_from: "从",
  silences_to: "到",
  silences_comment: "原因",
  silences_add: "添加免打扰时段",
  silences_end: "结束",
  silences_active: "生效中",
  silences_inactive: "未生效",
  silences_by: "{who} 创建于 {when}",
  silences_window: "{start} 至 {end}",
  silences_weekly: "每周：{days} {start}–{end}（{zone}）",
  silences_scope: "适用于",
  silences_all_types: "所有警报类型",
  day_0: "周一",
  day_1: "周二",
  day_2: "周三",
  day_3: "周四",
  day_4: "周五",
  day_5: "周六",
  day_6: "周日",
});

const listeners = new Set();
let current = initialLang();

function initialLang() {
  let saved = null;
  try {
    saved = localStorage.getItem(STORAGE_KEY);
  } catch {
    // Storage can be disabled (private mode); fall back to the browser's language.
  }
  if (LANGS.includes(saved)) return saved;
  const wanted = (navigator.languages && navigator.languages[0]) || navigator.language || "en";
  return wanted.toLowerCase().startsWith("zh") ? "zh-CN" : "en";
}

/** The current language code ("en" or "zh-CN"). */
export function getLang() {
  return current;
}

/** Translate `key`, filling {placeholders} from `vars`; unknown keys fall back to English, then the key. */
export function t(key, vars = {}) {
  const text = DICT[current][key] ?? DICT.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? String(vars[name]) : m));
}

/** Translate a value of an enumeration (alert type, severity, status...), keeping unknown values as they are. */
export function tv(prefix, value) {
  if (value === null || value === undefined) return "";
  const key = `${prefix}_${value}`;
  return DICT[current][key] ?? DICT.en[key] ?? String(value);
}

/** Set the text of every element under `root` that names a dictionary key. */
export function applyI18n(root = document) {
  for (const el of root.querySelectorAll("[data-i18n]")) {
    el.textContent = t(el.dataset.i18n);
  }
  for (const el of root.querySelectorAll("[data-i18n-attr]")) {
    for (const pair of el.dataset.i18nAttr.split(";")) {
      const [attr, key] = pair.split(":").map((s) => s.trim());
      if (attr && key) el.setAttribute(attr, t(key));
    }
  }
}

/** Switch language: updates <html lang>, static text, the remembered choice, then listeners. */
export function setLang(lang) {
  if (!LANGS.includes(lang)) return;
  current = lang;
  try {
    localStorage.setItem(STORAGE_KEY, lang);
  } catch {
    // Not remembered; the switch still works for this page.
  }
  document.documentElement.lang = lang;
  applyI18n();
  for (const cb of listeners) cb(lang);
}

/** Call `cb(lang)` after every language switch. */
export function onLangChange(cb) {
  listeners.add(cb);
}

/** Wire a button that toggles between the two languages; its label names the other language. */
export function bindLangButton(button) {
  const render = () => {
    const other = current === "en" ? "zh-CN" : "en";
    button.textContent = DICT[other].lang_name;
    button.lang = other;
    button.setAttribute("aria-label", t("lang_switch_label"));
  };
  button.addEventListener("click", () => setLang(current === "en" ? "zh-CN" : "en"));
  onLangChange(render);
  render();
}

/** Local date and time of an RFC 3339 string, in the interface language. */
export function fmtTime(iso) {
  if (!iso) return t("never");
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return new Intl.DateTimeFormat(current, { dateStyle: "medium", timeStyle: "medium" }).format(d);
}

/** Short clock time (hours and minutes) of a Date or timestamp. */
export function fmtClock(value) {
  return new Intl.DateTimeFormat(current, { hour: "2-digit", minute: "2-digit" }).format(
    new Date(value),
  );
}

const UNITS = [
  ["year", 365 * 86400],
  ["month", 30 * 86400],
  ["day", 86400],
  ["hour", 3600],
  ["minute", 60],
  ["second", 1],
];

/** "5 minutes ago" / "5 分钟前" for an RFC 3339 string, relative to `now` (ms). */
export function fmtRelative(iso, now = Date.now()) {
  if (!iso) return t("never");
  const then = new Date(iso).getTime();
  if (Number.isNaN(then)) return String(iso);
  const diffS = Math.round((then - now) / 1000);
  const rtf = new Intl.RelativeTimeFormat(current, { numeric: "auto" });
  for (const [unit, size] of UNITS) {
    if (Math.abs(diffS) >= size || unit === "second") {
      return rtf.format(Math.round(diffS / size), unit);
    }
  }
  return "";
}

document.documentElement.lang = current;
