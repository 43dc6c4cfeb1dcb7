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

// ---- duty desk (issue 13, part 1): care record, incident log, one clock ----
Object.assign(DICT.en, {
  clock_simulated: "Simulated time",
  clock_simulated_hint: "The demo's simulated clock: every time shown is on it, in the site's time zone.",
  clock_site_hint: "The site's clock (event time), in the site's time zone.",
  field_resolution: "Cause",
  cause_label: "What was it?",
  cause_real: "Real incident",
  cause_false_alarm: "False alarm",
  cause_test: "Test",
  cause_device_fault: "Device fault",
  action_called: "Called",
  action_dispatched: "Dispatched",
  action_arrived: "Arrived",
  "action_handed-over": "Handed over",
  action_logged: "Logged",
  log_heading: "Incident log",
  log_action: "What you did",
  log_action_called: "Called someone",
  log_action_dispatched: "Dispatched a grid worker",
  log_action_arrived: "Arrived on site",
  "log_action_handed-over": "Handed to emergency services",
  log_whom: "Whom",
  log_outcome: "Outcome",
  log_service: "Service",
  log_submit: "Add to log",
  log_closed: "The alert is resolved; its log is closed.",
  log_officers_only: "Officers log what they do here.",
  log_called_text: "Called {whom}: {outcome}",
  log_dispatched_text: "Dispatched {whom}",
  log_arrived_by: "{whom} arrived",
  log_handed_over_text: "Handed over to {service}",
  outcome_reached: "reached",
  outcome_no_answer: "no answer",
  outcome_busy: "busy",
  outcome_wrong_number: "wrong number",
  service_119: "119 fire and rescue",
  service_120: "120 ambulance",
  fold_heading: "Notifications and reminders",
  fold_tier: "Tier {tier} ({audience})",
  fold_change: "{change} ({audience})",
  fold_reminders: "Reminders ({audience})",
  fold_notifier: "Notifications",
  fold_delivered: "{n} delivered",
  fold_failed: "{n} failed",
  fold_reminder_n: "{n} reminders",
  audience_officers: "officers",
  audience_supervisor: "supervisor",
  audience_family: "family",
  audience_emergency: "emergency",
  care_heading: "Care record",
  care_none: "This alert concerns no household.",
  care_age: "{age} years (born {year})",
  care_language: "Language",
  care_dementia: "dementia",
  care_conditions: "Conditions",
  care_conditions_label: "Conditions (separated by ;)",
  care_mobility: "Mobility",
  care_responders: "Whom to call, in order",
  care_no_responders: "No responders recorded.",
  care_access: "Key holders and access",
  care_key_holders: "Key holders",
  care_access_notes: "Access notes",
  care_access_hidden: "Access notes are shown to the site's officers only.",
  care_floor: "floor {floor}",
  care_unit: "unit {unit}",
  care_floor_label: "Floor",
  care_unit_label: "Unit",
  care_birth_year: "Birth year",
  care_edit: "Edit care record",
  care_edit_heading: "Edit care record",
  care_save: "Save",
  care_saved: "Care record saved.",
  care_responders_hint: "One a line: relation | name | phone | note (relation: {relations}).",
  care_keys_hint: "One a line: name | phone | access note.",
  relation_family: "Family",
  relation_neighbour: "Neighbour",
  relation_grid_worker: "Grid worker",
  language_zh: "Chinese (Mandarin)",
  language_yue: "Cantonese",
  language_en: "English",
});
Object.assign(DICT["zh-CN"], {
  clock_simulated: "模拟时间",
  clock_simulated_hint: "演示的模拟时钟：所有时间均按此时钟、以站点时区显示。",
  clock_site_hint: "站点时钟（事件时间），以站点时区显示。",
  field_resolution: "原因",
  cause_label: "是什么情况？",
  cause_real: "真实事件",
  cause_false_alarm: "误报",
  cause_test: "测试",
  cause_device_fault: "设备故障",
  action_called: "已致电",
  action_dispatched: "已派遣",
  action_arrived: "已到场",
  "action_handed-over": "已移交",
  action_logged: "已记录",
  log_heading: "处置记录",
  log_action: "所做处置",
  log_action_called: "致电联系人",
  log_action_dispatched: "派遣网格员",
  log_action_arrived: "已到现场",
  "log_action_handed-over": "移交急救/消防",
  log_whom: "对象",
  log_outcome: "结果",
  log_service: "部门",
  log_submit: "加入记录",
  log_closed: "警报已解决，记录已关闭。",
  log_officers_only: "值班员在此记录处置。",
  log_called_text: "致电 {whom}：{outcome}",
  log_dispatched_text: "派遣 {whom}",
  log_arrived_by: "{whom} 已到场",
  log_handed_over_text: "已移交 {service}",
  outcome_reached: "已接通",
  outcome_no_answer: "无人接听",
  outcome_busy: "占线",
  outcome_wrong_number: "号码错误",
  service_119: "119 消防救援",
  service_120: "120 急救",
  fold_heading: "通知与提醒",
  fold_tier: "第 {tier} 级（{audience}）",
  fold_change: "{change}（{audience}）",
  fold_reminders: "提醒（{audience}）",
  fold_notifier: "通知",
  fold_delivered: "已送达 {n} 条",
  fold_failed: "失败 {n} 条",
  fold_reminder_n: "提醒 {n} 次",
  audience_officers: "值班员",
  audience_supervisor: "主管",
  audience_family: "家属",
  audience_emergency: "应急",
  care_heading: "照护档案",
  care_none: "此警报不涉及住户。",
  care_age: "{age} 岁（{year} 年生）",
  care_language: "语言",
  care_dementia: "认知障碍",
  care_conditions: "病况",
  care_conditions_label: "病况（用 ; 分隔）",
  care_mobility: "行动能力",
  care_responders: "联系顺序",
  care_no_responders: "未登记联系人。",
  care_access: "钥匙与进门方式",
  care_key_holders: "钥匙持有人",
  care_access_notes: "进门说明",
  care_access_hidden: "进门说明仅对本站点值班员显示。",
  care_floor: "{floor} 楼",
  care_unit: "{unit} 室",
  care_floor_label: "楼层",
  care_unit_label: "房号",
  care_birth_year: "出生年份",
  care_edit: "编辑照护档案",
  care_edit_heading: "编辑照护档案",
  care_save: "保存",
  care_saved: "照护档案已保存。",
  care_responders_hint: "每行一位：关系 | 姓名 | 电话 | 备注（关系：{relations}）。",
  care_keys_hint: "每行一位：姓名 | 电话 | 进门说明。",
  relation_family: "家属",
  relation_neighbour: "邻居",
  relation_grid_worker: "网格员",
  language_zh: "普通话",
  language_yue: "粤语",
  language_en: "英语",
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
