"""Where the dashboard files live inside the package."""

from pathlib import Path
from typing import Final

PACKAGE_DIR: Final = Path(__file__).resolve().parent
WEB_DIR: Final = PACKAGE_DIR / "web"
GRAFANA_DIR: Final = PACKAGE_DIR / "grafana"
GRAFANA_DASHBOARDS_DIR: Final = GRAFANA_DIR / "dashboards"
GRAFANA_PROVISIONING_DIR: Final = GRAFANA_DIR / "provisioning"

OFFICER_PAGE: Final = "index.html"
FAMILY_PAGE: Final = "family.html"
