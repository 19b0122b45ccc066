"""``djstruct library`` and ``scan`` on the real fixtures: counts, crates, and never a byte changed."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from djstruct.cli.main import cli
from djstruct.library.serato.crates import Field, dump_fields

DATA = Path(__file__).parent / "data"
RB6 = DATA / "rekordbox" / "rekordbox 6"


def hashes(root: Path) -> dict[str, str]:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_library_json_on_rekordbox_fixtures() -> None:
    r = invoke("library", "--rekordbox-xml", str(RB6 / "database.xml"), "--json")
    assert r.exit_code == 0
    rows = [json.loads(x) for x in r.stdout.splitlines()]
    assert rows and all(row["id"].startswith("rbx:") for row in rows)
    assert any(row["grid"] for row in rows)


def test_library_and_scan_on_master_db_leave_it_untouched(tmp_path: Path) -> None:
    db_dir = tmp_path / "rekordbox"
    shutil.copytree(RB6, db_dir)
    before = hashes(db_dir)
    r = invoke("library", "--rekordbox-db", str(db_dir / "master_locked.db"), "--json")
    assert r.exit_code == 0
    rows = [json.loads(x) for x in r.stdout.splitlines()]
    assert len(rows) == 6 and all(row["id"].startswith("rbdb:") for row in rows)
    r = CliRunner().invoke(cli, ["scan", "--rekordbox-db", str(db_dir / "master_locked.db"),
                                 "--store", str(tmp_path / "s.sqlite")])
    assert r.exit_code == 1  # the demo tracks' audio is not on this machine: each one is listed
    assert r.output.count("not found") == 6
    assert hashes(db_dir) == before
    assert sorted(p.name for p in db_dir.iterdir()) == sorted(p.name for p in RB6.iterdir())


def test_scan_of_all_fixtures_changes_nothing(tmp_path: Path, shared_fixtures: Path) -> None:
    before = hashes(shared_fixtures)
    xml = shared_fixtures / "rekuebox" / "rekordbox.xml"
    store = tmp_path / "s.sqlite"
    r = CliRunner().invoke(cli, ["scan", "--rekordbox-xml", str(xml), "--store", str(store), "--quiet"])
    assert r.exit_code == 1  # none of the 2,018 files exist here
    from djstruct.store import Store

    with Store.open(store) as st:
        assert len(st.tracks("rekordbox-xml:" + str(xml.resolve()))) == 2018
    r = CliRunner().invoke(cli, ["scan", str(shared_fixtures), "--store", str(store), "--quiet"])
    assert r.exit_code == 0  # no audio files in the fixture tree: nothing to do, nothing failed
    assert hashes(shared_fixtures) == before


@pytest.fixture()
def serato_library(short_corpus: Path, tmp_path: Path) -> Path:
    root = tmp_path / "USB"
    (root / "_Serato_" / "Subcrates").mkdir(parents=True)
    audio = sorted(p for p in short_corpus.iterdir() if p.suffix != ".json")
    for p in audio:
        shutil.copy(p, root / p.name)
    crate = (Field("vrsn", "1.0/Serato ScratchLive Crate"), Field("otrk", (Field("ptrk", audio[1].name),)))
    (root / "_Serato_" / "Subcrates" / "Peak Time.crate").write_bytes(dump_fields(crate))
    return root


def test_crate_selects_tracks(serato_library: Path) -> None:
    r = invoke("library", str(serato_library), "--crate", "Peak Time", "--json")
    assert r.exit_code == 0
    rows = [json.loads(x) for x in r.stdout.splitlines()]
    assert [Path(row["path"]).name for row in rows] == [sorted(p.name for p in serato_library.glob("synth*"))[1]]
    r = CliRunner().invoke(cli, ["library", str(serato_library), "--crate", "Nope", "--json"])
    assert r.exit_code == 1 and "Peak Time" in r.output


def test_scan_with_crate(serato_library: Path, tmp_path: Path) -> None:
    store = tmp_path / "s.sqlite"
    r = invoke("scan", str(serato_library), "--crate", "Peak Time", "--store", str(store))
    assert r.exit_code == 0, r.output
    from djstruct.store import Store

    with Store.open(store) as st:
        analysed = [p.name for p in serato_library.glob("synth*") if (row := st.get_row(p)) and row.has_analysis]
    assert len(analysed) == 1
