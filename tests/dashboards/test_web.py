"""The static pages: everything they load is in the package, nothing comes from the network,
and untrusted text never goes through innerHTML."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from safehood.dashboards import GRAFANA_DIR, WEB_DIR, render_pages

# As served: each page put together with the frame it extends.
PAGES = render_pages()
SCRIPTS = sorted(p.name for p in WEB_DIR.glob("*.js"))
ALLOWED_URLS = {"http://www.w3.org/2000/svg"}  # an XML namespace, never fetched


class _Refs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []
        self.ids: list[str] = []
        self.lang: str | None = None
        self.viewport = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "html":
            self.lang = a.get("lang")
        if tag == "meta" and a.get("name") == "viewport":
            self.viewport = "width=device-width" in (a.get("content") or "")
        for name in ("src", "href"):
            value = a.get(name)
            if value and not value.startswith("#"):
                self.refs.append(value)
        if a.get("id"):
            self.ids.append(a["id"] or "")


def test_the_package_points_at_its_files() -> None:
    assert (WEB_DIR / "index.html").is_file()
    assert (GRAFANA_DIR / "provisioning").is_dir()


@pytest.mark.parametrize("page", PAGES)
def test_page_loads_only_local_files(page: str) -> None:
    parser = _Refs()
    parser.feed(PAGES[page])
    assert parser.lang and parser.viewport
    assert parser.refs
    for ref in parser.refs:
        assert "://" not in ref and not ref.startswith("//"), ref
        assert (WEB_DIR / ref.partition("#")[0]).is_file(), ref  # a link may name a view
    assert len(set(parser.ids)) == len(parser.ids), "ids must be unique"


@pytest.mark.parametrize("script", SCRIPTS)
def test_script_imports_only_local_modules(script: str) -> None:
    text = (WEB_DIR / script).read_text(encoding="utf-8")
    for module in re.findall(r'from\s+"([^"]+)"', text):
        assert module.startswith("./"), module
        assert (WEB_DIR / module).is_file(), module
    for url in re.findall(r"[a-z]+://[^\s\"'`)]+", text):
        assert url in ALLOWED_URLS, url


@pytest.mark.parametrize("name", [*SCRIPTS, "style.css"])
def test_no_html_injection_sinks_and_no_remote_resources(name: str) -> None:
    text = (WEB_DIR / name).read_text(encoding="utf-8")
    # Alert evidence, names and notes come from devices and people: text nodes only.
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in text, f"{name} uses {sink}"
    assert "@import" not in text and "url(http" not in text


def _keys(block: str) -> list[str]:
    return re.findall(r"^ {4}(\w+):", block, flags=re.MULTILINE)


def _added_keys(text: str, target: str) -> list[str]:
    """Keys of the blocks appended to a language with ``Object.assign(DICT.en, {...})``."""
    blocks = re.findall(r"^Object\.assign\(" + re.escape(target) + r", \{\n(.*?)^\}\);",
                        text, flags=re.MULTILINE | re.DOTALL)
    return [key for block in blocks
            for key in re.findall(r"^ {2}(\w+):", block, flags=re.MULTILINE)]


def test_every_text_exists_in_english_and_chinese() -> None:
    text = (WEB_DIR / "i18n.js").read_text(encoding="utf-8")
    english, chinese = text.split('\n  "zh-CN": {', 1)
    english = english.split("\n  en: {", 1)[1]
    chinese = chinese.split("\n  },", 1)[0]
    assert len(_keys(english)) > 150
    assert _keys(english) == _keys(chinese)
    added = _added_keys(text, "DICT.en")
    assert added and added == _added_keys(text, 'DICT["zh-CN"]')
    used = set()
    sources = [(WEB_DIR / s).read_text(encoding="utf-8") for s in SCRIPTS if s != "i18n.js"]
    for source in [*sources, *PAGES.values()]:
        used |= set(re.findall(r'\bt\("(\w+)"', source))
        used |= set(re.findall(r'data-i18n="(\w+)"', source))
        for pairs in re.findall(r'data-i18n-attr="([^"]+)"', source):
            used |= {pair.split(":")[1] for pair in pairs.split(";")}
    missing = used - set(_keys(english)) - set(added)
    assert not missing, f"texts used but not translated: {sorted(missing)}"
