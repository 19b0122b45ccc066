"""Harvest a library, tier its tracks and find suspected label errors (``djstruct labels check``).

Reads the library and the analysis store; never writes to the library. Corrections apply to the
training labels only.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from djstruct import config
from djstruct.library import LibrarySource
from djstruct.store import Store
from djstruct.train.harvest import HarvestSkip, harvest
from djstruct.train.label_issues import LabelIssue, find_label_issues
from djstruct.train.tiers import TrackCheck, load_reviewed, tier_track
from djstruct.types import Analysis

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LibraryCheck:
    checks: list[TrackCheck]
    issues: list[LabelIssue]
    skipped: list[HarvestSkip]
    analyses: dict[str, Analysis]

    def tier_counts(self) -> dict[int, int]:
        out = {1: 0, 2: 0, 3: 0}
        for c in self.checks:
            out[c.tier] += 1
        return out


def check_library(sources: Sequence[LibrarySource], store_path: Path | None = None, *, tolerance_s: float = 0.05,
                  k: int = 5, reviewed: set[str] | None = None, find_issues: bool = True) -> LibraryCheck:
    """Harvest and tier ``sources``; with ``find_issues`` also rank likely label errors (needs the
    tracks' analyses in the store; training and agreement do without)."""

    verified = set(reviewed) if reviewed is not None else load_reviewed()
    checks: list[TrackCheck] = []
    skipped: list[HarvestSkip] = []
    analyses: dict[str, Analysis] = {}
    path = store_path or config.store_path()
    store = Store.open(path) if path.exists() else None
    try:
        for item in harvest(sources):
            if isinstance(item, HarvestSkip):
                skipped.append(item)
                continue
            a = store.get_analysis(item.track.path) if store is not None else None
            if a is not None:
                analyses[str(item.track.path)] = a
            checks.append(tier_track(item, a, verified, tolerance_s=tolerance_s))
    finally:
        if store is not None:
            store.close()
    if not find_issues:
        return LibraryCheck(checks, [], skipped, analyses)
    if checks and not analyses:
        log.warning("no analyses in %s for these tracks: only the grid heuristics run (run djstruct scan)", path)
    issues = find_label_issues(checks, analyses, k=k, tolerance_s=tolerance_s)
    return LibraryCheck(checks, issues, skipped, analyses)
