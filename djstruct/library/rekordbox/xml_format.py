"""How rekordbox (JUCE's ``XmlElement`` writer) formats its XML: CRLF, two-space indentation,
attributes wrapped before the next one once a line holds more than 60 characters of attributes,
continuation lines aligned after ``<TAG``; and ``POSITION_MARK`` attributes in rekordbox's order."""

from __future__ import annotations

import re
from typing import Any

from djstruct.types import Cue

WRAP_CHARS = 60  # JUCE XmlElement::TextFormat::lineWrapLength
CRLF = "\r\n"
_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;"}
BAD_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
Attrs = list[tuple[str, str]]


def escape(value: str) -> str:
    return "".join(_ESCAPES.get(ch) or (f"&#{ord(ch)};" if ord(ch) < 32 else ch) for ch in value)


def start_tag(tag: str, attrs: Attrs, indent: str, nl: str, wrap: int | None) -> str:
    parts = [indent, "<", tag]
    cont = nl + indent + " " * (len(tag) + 1)
    line = 0
    for name, value in attrs:
        if wrap is not None and line > wrap:
            parts.append(cont)
            line = 0
        text = f' {name}="{escape(value)}"'
        parts.append(text)
        line += len(text.encode("utf-8"))
    return "".join(parts)


def element(node: tuple[str, Attrs, list[Any]], indent: str, nl: str, wrap: int | None) -> str:
    tag, attrs, children = node
    head = start_tag(tag, attrs, indent, nl, wrap)
    if not children:
        return head + "/>"
    inner = "".join(nl + element(c, indent + "  ", nl, wrap) for c in children)
    return f"{head}>{inner}{nl}{indent}</{tag}>"


def seconds(t: float) -> str:
    return f"{max(0.0, t):.3f}"


def mark_attrs(cue: Cue) -> Attrs:
    kind = "4" if cue.end_s is not None else "0"
    attrs: Attrs = [("Name", cue.name), ("Type", kind), ("Start", seconds(cue.start_s))]
    if cue.end_s is not None:
        attrs.append(("End", seconds(cue.end_s)))
    attrs.append(("Num", str(cue.slot) if cue.kind == "hot" else "-1"))
    if cue.color is not None:
        rgb = int(cue.color[1:], 16)
        attrs += [("Red", str(rgb >> 16)), ("Green", str(rgb >> 8 & 255)), ("Blue", str(rgb & 255))]
    return attrs
