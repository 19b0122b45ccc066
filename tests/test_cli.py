"""The command line: analyze, eval and synth, including failures inside a batch."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from djstruct.cli.main import cli


def run(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_help_lists_commands() -> None:
    r = run("--help")
    assert r.exit_code == 0
    for cmd in ("analyze", "eval", "synth", "scan", "library", "status"):
        assert cmd in r.output


def test_analyze_json_lines_and_failures(short_corpus: Path, tmp_path: Path) -> None:
    good = sorted(short_corpus.glob("*.mp3"))[0]
    empty = tmp_path / "empty.mp3"
    empty.write_bytes(b"")
    text = tmp_path / "notes.mp3"
    text.write_text("this is not audio\n")
    weird = tmp_path / "Ünïcødé – 曲.flac"
    shutil.copy(sorted(short_corpus.glob("*.flac"))[0], weird)
    r = run("analyze", "--json", str(good), str(empty), str(text), str(tmp_path / "missing.wav"), str(weird))
    assert r.exit_code == 1
    lines = [json.loads(line) for line in r.stdout.strip().splitlines()]
    assert len(lines) == 5
    ok = [d for d in lines if "error" not in d]
    bad = [d for d in lines if "error" in d]
    assert [d["path"] for d in ok] == [str(good), str(weird)]
    assert len(bad) == 3
    for d in bad:
        assert Path(d["path"]).name in d["error"] and "\n" not in d["error"]
    d = ok[0]
    for key in ("path", "duration_s", "bpm", "beats", "downbeats", "sections", "drops", "energy", "detector"):
        assert key in d
    assert set(d["energy"]) >= {"hop_s", "bass", "mid", "high"}
    assert d["detector"] == "ml"


def test_analyze_summary(short_corpus: Path) -> None:
    r = run("analyze", str(sorted(short_corpus.glob("*.flac"))[0]))
    assert r.exit_code == 0
    assert "BPM" in r.output and "drop" in r.output


def test_analyze_unknown_detector(short_corpus: Path) -> None:
    r = CliRunner().invoke(cli, ["analyze", "--detector", "nope", str(next(short_corpus.glob("*.mp3")))])
    assert r.exit_code == 2 and "unknown detector" in r.output


def test_eval_json(short_corpus: Path) -> None:
    r = run("eval", "--json", str(short_corpus))
    assert r.exit_code == 0
    rep = json.loads(r.stdout)
    assert rep["detector"] == "ml" and len(rep["tracks"]) == 3
    assert rep["overall"]["bpm_acc1"] == 1.0


def test_eval_reports_missing_audio(short_corpus: Path, tmp_path: Path) -> None:
    for jf in short_corpus.glob("*.json"):
        shutil.copy(jf, tmp_path / jf.name)  # truth without its audio
    r = run("eval", "--json", str(tmp_path))
    assert r.exit_code == 1
    rep = json.loads(r.stdout)
    assert all(t["error"] for t in rep["tracks"])


def test_synth_cli_small(tmp_path: Path) -> None:
    args = ["synth", str(tmp_path), "--n", "1", "--seed", "3", "--formats", "wav", "--workers", "1"]
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 0, r.output
    assert len(list(tmp_path.glob("*.json"))) == 1 and len(list(tmp_path.glob("*.wav"))) == 1
    r = CliRunner().invoke(cli, ["synth", str(tmp_path), "--formats", "mp5"])
    assert r.exit_code == 2 and "unknown format" in r.output
