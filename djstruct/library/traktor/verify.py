"""Element-by-element comparison of two NML byte strings (the check every write runs, and the
round-trip count tests report): every element of the old file, with its attributes in order and its
text, must be in the new file in the same order, except the cues djstruct removed; the new file may
hold nothing else but the cues djstruct added."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

Signature = tuple[int, str, tuple[tuple[str, str], ...], str]


class _CueLike(Protocol):
    attrs: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class NmlComparison:
    elements: int  # elements of the old file compared
    attributes: int  # attributes of the old file compared
    lost: int  # old elements missing from the new file (not planned removals)
    unexpected: int  # new elements that are neither old nor planned additions
    reordered: bool  # same elements, different order


def signatures(data: bytes) -> list[Signature]:
    """(depth, tag, attributes in file order, stripped text) of every element, in document order."""
    out: list[Signature] = []
    depth = 0
    pending: list[int] = []
    for event, elem in ET.iterparse(io.BytesIO(data), events=("start", "end")):
        if event == "start":
            pending.append(len(out))
            out.append((depth, elem.tag, tuple(elem.attrib.items()), ""))
            depth += 1
        else:
            depth -= 1
            i = pending.pop()
            text = (elem.text or "").strip()
            if text:
                d, tag, attrs, _ = out[i]
                out[i] = (d, tag, attrs, text)
            elem.clear()
    return out


def _without(sigs: list[Signature], cues: Iterable[_CueLike]) -> list[Signature]:
    todo = Counter(("CUE_V2", tuple(c.attrs)) for c in cues)
    rest = []
    for s in sigs:
        key = (s[1], s[2])
        if todo.get(key):
            todo[key] -= 1
            continue
        rest.append(s)
    return rest


def compare_nml(old: bytes, new: bytes, added: Iterable[_CueLike] = (), removed: Iterable[_CueLike] = ()
                ) -> NmlComparison:
    before, after = signatures(old), signatures(new)
    n_attrs = sum(len(s[2]) for s in before)
    old_rest, new_rest = _without(before, removed), _without(after, added)
    if old_rest == new_rest:
        return NmlComparison(len(before), n_attrs, 0, 0, False)
    a, b = Counter(old_rest), Counter(new_rest)
    lost, unexpected = sum((a - b).values()), sum((b - a).values())
    return NmlComparison(len(before), n_attrs, lost, unexpected, lost == 0 and unexpected == 0)
