"""The web pages and Grafana boards of safehood.

``WEB_DIR`` holds the duty-officer dashboard (``index.html``), the family view
(``family.html``) and the duty pages beside the desk: static files with no build step,
served by the API under ``/ui/``. The pages share one frame (``frame.html``);
:func:`render_pages` puts each together (see :data:`PAGES`).
``GRAFANA_DIR`` holds Grafana provisioning files and dashboard JSON.
"""

from ._pages import PAGES, render_pages
from .const import GRAFANA_DIR, WEB_DIR

__all__ = ["GRAFANA_DIR", "PAGES", "WEB_DIR", "render_pages"]
