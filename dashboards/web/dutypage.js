// The frame of the duty pages beside the alert desk (building plan, response metrics): sign
// in, the language switch, the site picker, errors. Each page passes its own `load(site)`
// and `render()`.

import { api, ApiError, clearToken, h, replace, showLoginForm, startSession } from "./common.js";
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
 * `render()` draws from what was fetched (also on a language switch). A page whose parts are
 * named otherwise passes `parts` (shown once signed in), `heading`, its own `showError` and
 * `onSignOut` (to forget what it fetched). */
export function startDutyPage({
  load,
  render,
  parts = PAGE_PARTS,
  heading = "page-heading",
  showError: reportError = showError,
  describe = (err) => t("duty_failed", { detail: err.detail || String(err) }),
  onSignOut = () => {},
}) {
  async function start(me) {
    $("login-view").hidden = true;
    for (const id of parts) $(id).hidden = false;
    let sites = me.sites;
    if (sites.length === 0) {
      try {
        sites = (await api("sites")).data.map((s) => s.id);
      } catch (err) {
        reportError(err);
        return;
      }
    }
    replace($("site"), sites.map((s) => h("option", { value: s }, s)));
    render();
    $(heading).focus();
    await load($("site").value);
  }

  applyI18n();
  render();
  bindLangButton($("lang"));
  onLangChange(() => {
    applyI18n();
    render();
  });
  $("logout").addEventListener("click", () => {
    clearToken();
    onSignOut();
    showLoginForm(parts);
  });
  $("site").addEventListener("change", () => load($("site").value));
  startSession({ start, showLogin: (message) => showLoginForm(parts, message), describe });
}
