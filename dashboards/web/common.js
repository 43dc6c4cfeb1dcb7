// Shared by the duty desk and the family view: the API client, the token, DOM building,
// alert ordering. Everything that shows data from the server goes through h()/text nodes,
// never parsed as markup: alert evidence and names come from devices and people.

import { t, tv } from "./i18n.js";

const TOKEN_KEY = "safehood.token";

// The pages are served under /ui/; the API lives next to it, whatever prefix a proxy adds.
export const API_BASE = new URL("../api/v1/", document.baseURI);

export const SEVERITY_RANK = { Extreme: 4, Severe: 3, Moderate: 2, Minor: 1 };
export const CRITICAL = new Set(["Extreme", "Severe"]);

/** An error answer of the API, with its HTTP status and the server's readable detail. */
export class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
    this.detail = detail;
  }
}

function getToken() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(token) {
  sessionStorage.setItem(TOKEN_KEY, token);
}

export function clearToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}

/** Absolute URL of an API path ("alerts?status=firing"). */
function apiUrl(path, params = {}) {
  const url = new URL(path.replace(/^\/+/, ""), API_BASE);
  for (const [k, v] of Object.entries(params)) {
    if (v !== null && v !== undefined && v !== "") url.searchParams.set(k, String(v));
  }
  return url;
}

/**
 * Call the API with the stored token. Resolves to the decoded JSON body;
 * rejects with ApiError (status 0 when the server could not be reached).
 */
export async function api(path, { method = "GET", body, params, token } = {}) {
  const headers = { Accept: "application/json" };
  const auth = token ?? getToken();
  if (auth) headers.Authorization = `Bearer ${auth}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(apiUrl(path, params), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    throw new ApiError(0, String(err.message || err));
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) {
    const detail = data && typeof data.detail === "string" ? data.detail : response.statusText;
    throw new ApiError(response.status, detail || `HTTP ${response.status}`);
  }
  return data;
}

/**
 * Build an element: h("button", {class: "x", onclick: fn, "aria-label": "..."}, "text", child).
 * Strings become text nodes; null/false children are skipped; arrays are flattened.
 */
export function h(tag, attrs = {}, ...children) {
  const el = tag.startsWith("svg:")
    ? document.createElementNS("http://www.w3.org/2000/svg", tag.slice(4))
    : document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      el.addEventListener(name.slice(2), value);
    } else if (name === "dataset") {
      Object.assign(el.dataset, value);
    } else {
      el.setAttribute(name, value === true ? "" : String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else if (child instanceof Node) el.appendChild(child);
    else el.appendChild(document.createTextNode(String(child)));
  }
}

/** Replace the children of `el` with `children`. */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

export function isOpen(alert) {
  return alert.status !== "resolved";
}

/** The API's order: open first, then most severe, then newest. */
export function compareAlerts(a, b) {
  return (
    Number(isOpen(b)) - Number(isOpen(a)) ||
    (SEVERITY_RANK[b.severity] || 0) - (SEVERITY_RANK[a.severity] || 0) ||
    Date.parse(b.started_at) - Date.parse(a.started_at) ||
    String(a.id).localeCompare(String(b.id))
  );
}

/** A severity badge: colour plus its written name, never colour alone. */
export function severityBadge(severity) {
  return h("span", { class: `badge sev sev-${String(severity).toLowerCase()}` }, tv("severity", severity));
}

/** "Exercise" next to alerts raised from simulated traffic (CAP status Exercise), or null. */
export function exerciseBadge(alert) {
  return alert.exercise
    ? h("span", { class: "badge exercise", title: t("exercise_hint") }, t("exercise_badge"))
    : null;
}

export function statusBadge(status) {
  return h("span", { class: `badge status status-${status}` }, tv("status", status));
}

/** Write `message` into a polite live region so screen readers announce it. */
export function announce(region, message) {
  // Clearing first makes repeated identical messages announced again.
  region.textContent = "";
  setTimeout(() => {
    region.textContent = message;
  }, 50);
}

/** Keep Tab focus inside `dialog` while it is open (the rest of the page is inert anyway). */
export function trapFocus(dialog) {
  dialog.addEventListener("keydown", (event) => {
    if (event.key !== "Tab") return;
    const focusable = [
      ...dialog.querySelectorAll("button, [href], input, select, textarea, [tabindex]"),
    ].filter((el) => !el.disabled && el.tabIndex >= 0 && el.offsetParent !== null);
    if (focusable.length === 0) return;
    const first = focusable[0];
    const last = focusable[focusable.length - 1];
    if (event.shiftKey && document.activeElement === first) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && document.activeElement === last) {
      event.preventDefault();
      first.focus();
    }
  });
}

// The login form of both pages, shown with the page's own parts (`hide`: element ids) hidden.
export function showLoginForm(hide, message) {
  document.getElementById("login-view").hidden = false;
  for (const id of hide) document.getElementById(id).hidden = true;
  if (message) {
    const error = document.getElementById("login-error");
    error.textContent = message;
    error.hidden = false;
  }
  document.getElementById("token").focus();
}

// The login form: check the token against /me, keep it, start the page.
async function signInWith(event, start, describe) {
  event.preventDefault();
  const field = document.getElementById("token");
  const error = document.getElementById("login-error");
  const token = field.value.trim();
  try {
    if (!token) throw new ApiError(401, "no token");
    const me = await api("me", { token });
    setToken(token);
    field.value = "";
    await start(me);
  } catch (err) {
    error.textContent = failureText(err, describe);
    error.hidden = false;
    field.focus();
  }
}

/**
 * Sign the page in: at once with the stored token (checked against /me), else through the
 * login form. `start(me)` starts the page, `showLogin(message)` shows the form, and
 * `describe(err)` words a failure other than a refused token in the page's own terms.
 */
export function startSession({ start, showLogin, describe }) {
  document.getElementById("login-form").addEventListener("submit", (event) =>
    signInWith(event, start, describe),
  );
  if (!getToken()) {
    showLogin();
    return;
  }
  api("me")
    .then(start)
    .catch((err) => showLogin(failureText(err, describe)));
}

function failureText(err, describe) {
  return err instanceof ApiError && err.status === 401 ? t("login_failed") : describe(err);
}

/** The live stream of alert changes for the stored token (EventSource cannot send headers). */
export function alertStream() {
  return new EventSource(apiUrl("stream", { token: getToken() }));
}

/** Fetch a file of the API (the token goes in a header, so a plain link cannot) and hand it
 * to the browser as `filename`. Rejects with ApiError. */
export async function download(path, params, filename) {
  const response = await fetch(apiUrl(path, params), { headers: { Authorization: `Bearer ${getToken()}` } });
  if (!response.ok) throw new ApiError(response.status, response.statusText);
  const link = h("a", { href: URL.createObjectURL(await response.blob()), download: filename });
  document.body.appendChild(link);
  link.click();
  link.remove();
}
