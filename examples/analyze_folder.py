"""Analyse every audio file in a folder from Python and print its drops.

    python examples/analyze_folder.py ~/Music/some-folder
"""

from __future__ import annotations

import sys
from pathlib import Path

from djstruct.audio import SUPPORTED_EXTENSIONS
from djstruct.detect.base import analyze_file, get_detector
from djstruct.errors import DjstructError


def main(folder: Path) -> None:
    detector = get_detector()  # the default detector
    for path in sorted(p for p in folder.rglob("*") if p.suffix.lower() in SUPPORTED_EXTENSIONS):
        try:
            a = analyze_file(path, detector)
        except DjstructError as e:
            print(f"skipped: {e}")
            continue
        drops = ", ".join(f"{d // 60:.0f}:{d % 60:04.1f}" for d in a.drops) or "none"
        print(f"{path.name}: {a.bpm:.2f} BPM, {len(a.sections)} sections, drops at {drops}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "."))
