// The frame of the duty pages beside the alert desk (building plan, response metrics): sign
// in, the language switch, the site picker, errors. Each page passes its own `load(site)`
// and `render()`.

import { api, ApiError, clearToken, getToken, h, replace, showLoginForm, signInWith } from "./common.js";
import { applyI18n, bindLangButton, onLangChange, t } from "./i18n.js";

export const $ = (id) => document.getElementById(id);

const PAGE_PARTS = ["page-view", "nav", "logout"];

export function showError(err) {
  const box = $("page-error");
  box.textContent =
    err instanceof ApiError && err.status === 403
      ? t("duty_forbidden")
      : t("duty_failed", { detail: err.detail || String(err) });
  box.hidden = false;
}

export function clearError() {
  $("page-error").hidden = true;
}

/** Start the page: `load(site)` fetches (called on start and when the site changes),
 * `render()` draws from what was fetched (also on a language switch). */
export function startDutyPage({ load, render }) {
  async function start(me) {
    $("login-view").hidden = true;
    for (const id of PAGE_PARTS) $(id).hidden = false;
    let sites = me.sites;
    if (sites.length === 0) {
      try {
        sites = (await api("sites")).data.map((s) => s.id);
      } catch (err) {
        showError(err);
        return;
      }
    }
    replace($("site"), sites.map((s) => h("option", { value: s }, s)));
    render();
    $("page-heading").focus();
    await load($("site").value);
  }

  applyI18n();
  render();
  bindLangButton($("lang"));
  onLangChange(() => {
    applyI18n();
    render();
  });
  $("login-form").addEventListener("submit", (event) =>
    signInWith(event, start, {
      failed: t("login_failed"),
      describe: (err) => t("duty_failed", { detail: err.detail || String(err) }),
    }),
  );
  $("logout").addEventListener("click", () => {
    clearToken();
    showLoginForm(PAGE_PARTS);
  });
  $("site").addEventListener("change", () => load($("site").value));
  if (!getToken()) {
    showLoginForm(PAGE_PARTS);
    return;
  }
  api("me")
    .then(start)
    .catch(() => showLoginForm(PAGE_PARTS, t("login_failed")));
}
