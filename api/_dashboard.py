"""The dashboard under ``/ui/``: its pages as put together at start-up, its other files
(scripts, styles, icons) as they are on disk."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from fastapi import HTTPException
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response
from starlette.types import Scope


class DashboardFiles(StaticFiles):
    """Static files of ``directory``, except that a page named in ``pages`` (file name →
    HTML) is answered from there, and any other ``.html`` file (the frame the pages extend)
    is not served at all."""

    def __init__(self, directory: Path, pages: Mapping[str, str]) -> None:
        super().__init__(directory=directory, html=True)
        self.pages = pages

    async def get_response(self, path: str, scope: Scope) -> Response:
        name = "index.html" if path == "." and scope["path"].endswith("/") else path
        if scope["method"] in ("GET", "HEAD"):
            if name in self.pages:
                return HTMLResponse(self.pages[name])
            if name.endswith(".html"):
                raise HTTPException(404)
        return await super().get_response(path, scope)
