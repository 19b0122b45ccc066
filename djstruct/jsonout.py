"""Strict JSON out: every line djstruct prints or stores parses with any JSON parser.

Python's ``json`` writes ``NaN`` and ``Infinity``, which are not JSON (``JSON.parse`` rejects them).
:func:`dumps` writes ``null`` for every non-finite number instead and refuses anything else that is
not JSON (``allow_nan=False``)."""

from __future__ import annotations

import json
import math
from typing import Any


def finite(obj: Any) -> Any:
    """``obj`` with every non-finite float (NaN, +-inf; numpy scalars too) replaced by None, in
    dicts, lists and tuples at any depth."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [finite(v) for v in obj]
    if hasattr(obj, "item") and hasattr(obj, "dtype") and getattr(obj, "shape", None) == ():  # numpy scalar
        return finite(obj.item())
    return obj


def dumps(obj: Any, **kwargs: Any) -> str:
    """:func:`json.dumps` of :func:`finite` ``(obj)`` with ``allow_nan=False``."""
    return json.dumps(finite(obj), allow_nan=False, **kwargs)
