"""The web pages and Grafana boards of safehood.

``WEB_DIR`` holds the duty-officer dashboard (``index.html``) and the family view
(``family.html``): static files with no build step, served by the API under ``/ui/``.
``GRAFANA_DIR`` holds Grafana provisioning files and dashboard JSON.
"""

from .const import GRAFANA_DIR, WEB_DIR

__all__ = ["GRAFANA_DIR", "WEB_DIR"]
