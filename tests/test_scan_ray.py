"""``djstruct scan --engine ray`` on a local Ray runtime (2 CPUs): the same analyses as the local
pool, incremental, failure-isolated, and resumable after the driver is killed. Skipped without Ray."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any

import pytest

if os.environ.get("DJSTRUCT_REQUIRE_RAY"):  # CI (.ci/run): Ray is installed, so these tests must run
    import pyarrow  # noqa: F401
    import ray  # noqa: F401
else:
    pytest.importorskip("ray")
    pytest.importorskip("pyarrow")

from djstruct.library import LibrarySource  # noqa: E402
from djstruct.scan import ScanConfig, run_scan  # noqa: E402
from djstruct.scan_ray import RayOptions, run_scan_ray  # noqa: E402
from djstruct.scan_ray.output import OutRow, PartWriter, fill_store, parts, read_rows  # noqa: E402
from djstruct.store import Store  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def ray_runtime() -> Any:
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.fixture()
def library(short_corpus: Path, tmp_path: Path) -> Path:
    lib = tmp_path / "Music"
    lib.mkdir()
    for p in sorted(short_corpus.iterdir()):
        if p.suffix != ".json":
            shutil.copy(p, lib / p.name)
    (lib / "broken.mp3").write_text("not audio")
    return lib


def stored(store: Path) -> dict[str, tuple[Any, ...]]:
    """path -> (size, mtime_ns, audio_hash, detector, version, analysis JSON or None, error)."""
    with Store.open(store) as st:
        rows = st.query("SELECT path, size, mtime_ns, audio_hash, detector, detector_version, analysis, error "
                        "FROM files")
    return {r[0]: (*r[1:6], None if r[6] is None else zlib.decompress(r[6]).decode(), r[7]) for r in rows}


def config(lib: Path, store: Path, detector: str | None = None) -> ScanConfig:
    return ScanConfig((LibrarySource("folder", lib),), store, detector, workers=2)


@pytest.mark.parametrize(("detector", "fuse_post"), [("ml", True), ("ml", False), ("dsp", True)],
                         ids=["ml", "ml-post-tasks", "dsp"])
def test_ray_stores_what_the_local_pool_stores(ray_runtime: Any, library: Path, tmp_path: Path,
                                               detector: str, fuse_post: bool) -> None:
    """ml-post-tasks: post-processing in CPU tasks of its own, as on GPU actors."""
    local = run_scan(config(library, tmp_path / "local.sqlite", detector))
    out = tmp_path / "out.parquet"
    r = run_scan_ray(config(library, tmp_path / "ray.sqlite", detector), RayOptions(output=out, fuse_post=fuse_post))
    assert (r.tracks_seen, r.analysed, r.up_to_date, len(r.failed)) == (4, 3, 0, 1)
    assert (local.analysed, len(local.failed), local.warnings) == (3, 1, r.warnings)
    a, b = stored(tmp_path / "local.sqlite"), stored(tmp_path / "ray.sqlite")
    assert set(a) == set(b) and len(a) == 4
    for path in a:
        assert a[path][:6] == b[path][:6], path  # same fingerprint, detector, version and analysis JSON
        assert (a[path][6] is None) == (b[path][6] is None)
    broken = str(library / "broken.mp3")
    assert b[broken][5] is None and "broken.mp3" in b[broken][6]

    rows = list(read_rows(out))
    assert sorted(x["path"] for x in rows) == sorted(a)  # one row per track, the bad file with its error
    for x in rows:
        assert (x["size"], x["mtime_ns"], x["audio_hash"]) == b[x["path"]][:3]
        if x["error"] is None:
            assert (x["detector"], x["detector_version"]) == b[x["path"]][3:5]
            assert json.loads(x["analysis"]) == json.loads(b[x["path"]][5])
        else:
            assert x["analysis"] is None and x["path"] == broken


def test_ray_scan_is_incremental_and_takes_finished_rows_from_parquet(ray_runtime: Any, library: Path,
                                                                      tmp_path: Path) -> None:
    out = tmp_path / "out.parquet"
    first = run_scan_ray(config(library, tmp_path / "a.sqlite", "dsp"), RayOptions(output=out))
    assert first.analysed == 3
    again = run_scan_ray(config(library, tmp_path / "a.sqlite", "dsp"), RayOptions(output=out))
    assert (again.analysed, again.up_to_date, len(again.failed)) == (0, 3, 1)  # only the bad file is tried again
    # a fresh store next to the same output: the analyses come from the Parquet rows, none is redone
    fresh = run_scan_ray(config(library, tmp_path / "b.sqlite", "dsp"), RayOptions(output=out))
    assert (fresh.analysed, fresh.up_to_date) == (0, 3)
    a, b = stored(tmp_path / "a.sqlite"), stored(tmp_path / "b.sqlite")
    assert {p: v[:6] for p, v in a.items()} == {p: v[:6] for p, v in b.items()}
    assert sum(1 for x in read_rows(out) if x["analysis"] is not None) == 3


CHILD = r"""
import os, signal, sys
from pathlib import Path
from djstruct.library import LibrarySource
from djstruct.scan import ScanConfig
from djstruct.scan_ray import RayOptions, run_scan_ray

done = 0
def on_event(e):
    global done
    if e.kind == "done":
        done += 1
        if done == int(sys.argv[4]):
            os.kill(os.getpid(), signal.SIGKILL)  # the driver dies here, as under kill -9

run_scan_ray(ScanConfig((LibrarySource("folder", Path(sys.argv[1])),), Path(sys.argv[2]), "dsp", workers=2),
             RayOptions(address=sys.argv[3], output=Path(sys.argv[1]).parent / "out.parquet", part_rows=1), on_event)
"""


def test_killed_driver_resumes_without_redoing_or_losing_a_track(ray_runtime: Any, short_corpus: Path,
                                                                  tmp_path: Path) -> None:
    lib = tmp_path / "Music"
    lib.mkdir()
    audio = sorted(p for p in short_corpus.iterdir() if p.suffix != ".json")
    n, kill_at = 8, 3
    for i in range(n):
        shutil.copy(audio[i % len(audio)], lib / f"{i}-{audio[i % len(audio)].name}")
    store, out = tmp_path / "s.sqlite", tmp_path / "out.parquet"
    address = ray_runtime.get_runtime_context().gcs_address
    proc = subprocess.run([sys.executable, "-c", CHILD, str(lib), str(store), address, str(kill_at)], cwd=REPO,
                          capture_output=True, text=True, timeout=600, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == -9, proc.stderr[-3000:]
    killed = {x["path"] for x in read_rows(out)}
    assert kill_at <= len(killed) < n  # rows up to the kill, written before their event; not all of them

    r = run_scan_ray(config(lib, store, "dsp"), RayOptions(output=out, part_rows=1))
    assert (r.analysed, r.up_to_date, r.failed) == (n - len(killed), len(killed), ())  # none redone
    rows = list(read_rows(out))
    per_path: dict[str, int] = {}
    for x in rows:
        assert x["analysis"] is not None
        per_path[x["path"]] = per_path.get(x["path"], 0) + 1
    assert per_path == {str(p): 1 for p in lib.iterdir()}  # every track once: none redone, none lost
    with Store.open(store) as st:
        assert all(st.get_row(p).has_analysis for p in lib.iterdir())  # type: ignore[union-attr]


def test_fill_store_takes_only_rows_whose_file_is_unchanged(short_corpus: Path, tmp_path: Path) -> None:
    from djstruct.audio.fingerprint import fingerprint
    from djstruct.types import Analysis, Section

    tracks = []
    for i, name in enumerate(("a.flac", "b.flac")):
        p = tmp_path / name
        shutil.copy(next(short_corpus.glob("*.flac")), p)
        tracks.append((p, fingerprint(p), Analysis(str(p), 60.0, 128.0, (0.5, 1.0), (0.5,),
                                                  (Section(0.0, 60.0, "intro"),), (), None, "dsp", 0.5 + i / 10)))
    out = tmp_path / "out.parquet"
    writer = PartWriter(out, "dsp", "v1")
    writer.write([OutRow(str(p), fp, json.dumps(a.to_dict()), None) for p, fp, a in tracks])
    writer.write([OutRow(str(tmp_path / "bad.mp3"), None, None, "bad.mp3: not audio")])
    assert len(parts(out)) == 2
    (out / "part-garbage.parquet").write_bytes(b"not parquet")  # an unreadable part is skipped, not fatal
    os.utime(tracks[1][0], ns=(tracks[1][1].mtime_ns + 10**9, tracks[1][1].mtime_ns + 10**9))  # changed since
    with Store.open(tmp_path / "s.sqlite") as st:
        assert fill_store(out, st, "dsp", "v2") == 0  # another detector version: nothing
        assert fill_store(out, st, "dsp", "v1") == 1
        assert st.get_analysis(tracks[0][0]) == Analysis.from_dict(tracks[0][2].to_dict())
        assert st.get_row(tracks[1][0]) is None
        assert fill_store(out, st, "dsp", "v1") == 0  # already there


def test_a_crashing_decoder_fails_its_track_only(ray_runtime: Any, short_corpus: Path, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A file whose worker dies (a decoder segfault) is a failed row; the tracks that shared its
    block (more tracks than MAX_BLOCKS) are run again one a block and analysed."""
    from djstruct.scan_ray import driver, stages

    real = stages.decode_row

    def crashing(row: dict[str, Any], **kw: Any) -> dict[str, Any]:  # pickled by value into the workers
        if Path(str(row["path"])).stem == "crash":
            os._exit(1)
        return real(row, **kw)

    monkeypatch.setattr(stages, "decode_row", crashing)
    monkeypatch.setattr(driver, "MAX_BLOCKS", 3)  # 6 tracks: blocks of 2
    monkeypatch.setattr(driver, "TASK_RETRIES", 0)
    lib = tmp_path / "Music"
    lib.mkdir()
    audio = next(p for p in sorted(short_corpus.iterdir()) if p.suffix == ".flac")
    for name in ("a", "b", "crash", "d", "e", "f"):
        shutil.copy(audio, lib / f"{name}.flac")
    r = run_scan_ray(config(lib, tmp_path / "s.sqlite", "dsp"), RayOptions(output=tmp_path / "out.parquet"))
    assert (r.analysed, [p for p, _ in r.failed]) == (5, [str(lib / "crash.flac")])
    assert "worker analysing this file died" in r.failed[0][1]
    rows = list(read_rows(tmp_path / "out.parquet"))
    assert sorted(x["path"] for x in rows) == sorted(str(p) for p in lib.iterdir())  # each track once


def test_cli_scan_engine_ray(ray_runtime: Any, library: Path, tmp_path: Path) -> None:
    """`djstruct scan --engine ray --parquet DIR`: the table, exit code 1 for the bad file, the rows."""
    from click.testing import CliRunner

    from djstruct.cli.main import cli

    out = tmp_path / "rows"
    r = CliRunner().invoke(cli, ["scan", str(library), "--engine", "ray", "--detector", "dsp", "--store",
                                 str(tmp_path / "s.sqlite"), "--parquet", str(out)])
    assert r.exit_code == 1, r.output
    assert "broken.mp3" in r.output
    assert len(list(read_rows(out))) == 4
    r = CliRunner().invoke(cli, ["scan", str(library), "--parquet", str(out)])
    assert r.exit_code == 2 and "--engine ray" in r.output
