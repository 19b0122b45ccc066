"""CI (``.ci/run``) installs what the README's test command installs, line for line."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_ci_runs_the_readme_test_command() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = re.search(r"Run the tests:\s*```sh\n(.+?)\n```", readme, re.S)
    assert block is not None
    steps = [s.strip() for s in block.group(1).split("&&")]
    ci = [line.split("#")[0].strip() for line in (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()]
    for step in steps:
        if step.startswith("pip install"):
            assert step.replace("pip install", "pip install -q", 1) in ci, step
    assert any("[dev,ray]" in s for s in steps)  # the Ray engine's tests run in CI
    assert "python -m pytest -q" in ci
