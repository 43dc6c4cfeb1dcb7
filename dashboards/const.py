"""Where the dashboard files live inside the package."""

from pathlib import Path
from typing import Final

PACKAGE_DIR: Final = Path(__file__).resolve().parent
WEB_DIR: Final = PACKAGE_DIR / "web"
GRAFANA_DIR: Final = PACKAGE_DIR / "grafana"
