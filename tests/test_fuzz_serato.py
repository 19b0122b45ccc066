"""Seeded fuzzing of real Serato tag payloads (Serato DJ Pro output from tests/data and, when present,
the shared real fixtures): byte-level mutations of the stored values, of the payloads inside the
FLAC/MP4 base64 envelopes and of single Markers2 entries. Every parse ends in a result or a
djstruct error; through the CLI (MP3, FLAC and M4A files): no traceback, strict JSON lines,
bounded memory, a file whose tags cannot be read is never changed, and undo gives every file back
byte for byte."""

from __future__ import annotations

import random
import struct
import tracemalloc
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from hardening_lib import (
    DETECTOR,
    VERSION,
    analysis_for,
    assert_clean,
    invoke,
    make_library,
    put_serato,
    sha,
    strict_json,
)

from djstruct.audio.fingerprint import fingerprint
from djstruct.errors import DjstructError
from djstruct.library.serato import markers as sm
from djstruct.library.serato.read import parse_serato_values, read_serato_tags
from djstruct.library.serato.tags import MARKERS2, OGG_KEYS
from djstruct.store import Store
from djstruct.types import MAX_GRID_BEATS

SEED = 20_150_015
N_PARSE = 400  # in-memory mutations
N_FILES = 30  # mutated files written through the CLI (a third each in MP3, FLAC, M4A)
HERE = Path(__file__).parent
ROOTS = [HERE / "data" / "serato" / "serato-tags" / "data",
         HERE.parents[1] / "shared" / "fixtures" / "real" / "serato-tags" / "data"]
_OGG_NAMES = {v: k for k, v in OGG_KEYS.items()}
_DIRS = {"id3": "id3", "aif": "id3", "flac": "flac", "mp4": "mp4", "ogg": "ogg"}
_FILE_FORMAT = {"id3": "mp3", "flac": "flac", "mp4": "m4a"}


@dataclass(frozen=True)
class Case:
    """One real test case of Serato's: every stored value of one file, by Serato tag name."""

    container: str
    values: dict[str, bytes]


def real_cases() -> list[Case]:
    seen: set[tuple[str, tuple[tuple[str, bytes], ...]]] = set()
    out = []
    for root in ROOTS:
        for folder, container in _DIRS.items():
            for case in sorted((root / folder).glob("*/")) if (root / folder).is_dir() else []:
                values = {}
                for f in sorted(case.glob("*.octet-stream")):
                    name = _OGG_NAMES.get(f.stem, f.stem) if container == "ogg" else f.stem
                    values[name] = f.read_bytes()
                key = (container, tuple(sorted(values.items())))
                if values and key not in seen:
                    seen.add(key)
                    out.append(Case(container, values))
    return out


# --- mutations -------------------------------------------------------------------------------------

def mutate_bytes(rng: random.Random, data: bytes) -> bytes:
    b = bytearray(data)
    op = rng.randrange(8)
    n = len(b)
    if n == 0 or op == 0:  # insert junk
        at = rng.randrange(n + 1)
        b[at:at] = rng.randbytes(rng.randint(1, 16))
    elif op == 1:  # flip bits
        for _ in range(rng.randint(1, 8)):
            b[rng.randrange(n)] ^= 1 << rng.randrange(8)
    elif op == 2:  # truncate
        del b[rng.randrange(n):]
    elif op == 3:  # overwrite a range
        at = rng.randrange(n)
        b[at:at + 8] = rng.randbytes(min(8, n - at))
    elif op == 4 and n >= 4:  # a length/count/position field gone wild
        at = rng.randrange(n - 3)
        b[at:at + 4] = struct.pack(">I", rng.choice([0, 1, 0x7FFFFFFF, 0xFFFFFFFF, 0x80000000]))
    elif op == 5:  # delete a range
        at = rng.randrange(n)
        del b[at:at + rng.randint(1, 32)]
    elif op == 6:  # duplicate a range
        at = rng.randrange(n)
        b[at:at] = b[at:at + rng.randint(1, 64)]
    else:  # a float field: nan, inf, huge, negative
        at = rng.randrange(max(1, n - 3))
        b[at:at + 4] = struct.pack(">f", rng.choice([float("nan"), float("inf"), -1e30, 1e26, -0.5]))
    return bytes(b)


def _mutate_markers2(rng: random.Random, payload: bytes) -> bytes:
    """Mutate the data of one Markers2 entry (inside its base64), keeping the rest well formed."""
    m2 = sm.parse_markers2(payload)
    if not m2.entries:
        return mutate_bytes(rng, payload)
    entries = list(m2.entries)
    i = rng.randrange(len(entries))
    entries[i] = replace(entries[i], data=mutate_bytes(rng, entries[i].data))
    return sm.dump_markers2(replace(m2, entries=tuple(entries)))


def mutate(rng: random.Random, case: Case) -> tuple[str, dict[str, bytes]]:
    """One mutation of one value of ``case``: (the mutated tag's name, every value)."""
    name = rng.choice(sorted(case.values))
    value = case.values[name]
    try:
        if case.container in ("flac", "mp4") and rng.random() < 0.6:
            env = sm.decode_envelope(value)
            inner = (_mutate_markers2(rng, env.payload) if name == MARKERS2 and rng.random() < 0.5
                     else mutate_bytes(rng, env.payload))
            value = sm.encode_envelope(replace(env, payload=inner))
        elif case.container == "id3" and name == MARKERS2 and rng.random() < 0.5:
            value = _mutate_markers2(rng, value)
        else:
            value = mutate_bytes(rng, value)
    except DjstructError:  # the real value does not decode the way we tried: mutate its bytes
        value = mutate_bytes(rng, value)
    if case.container in ("flac", "ogg"):  # Vorbis comments are text: a file can only hold UTF-8
        value = value.decode("utf-8", "replace").encode("utf-8")
    return name, {**case.values, name: value}


# --- the tests --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def cases() -> list[Case]:
    found = real_cases()
    assert len(found) >= 10, "the Serato fixtures in tests/data are missing"
    return found


def test_parsing_mutated_payloads_never_raises_anything_else(cases: list[Case]) -> None:
    rng = random.Random(SEED)
    outcomes = {"parsed": 0, "refused": 0}
    tracemalloc.start()
    try:
        for _ in range(N_PARSE):
            case = rng.choice(cases)
            _, values = mutate(rng, case)
            try:
                tags = parse_serato_values(Path("fuzzed.bin"), case.container, values)
            except DjstructError as e:
                assert "\n" not in str(e) and "fuzzed.bin" in str(e)
                outcomes["refused"] += 1
                continue
            outcomes["parsed"] += 1
            for c in tags.cues:
                assert 0 <= c.start_s < 2**32 / 1000 and (c.slot is None or 0 <= c.slot <= 7)
            if tags.grid is not None:
                assert all(m.valid for m in tags.grid.markers)
                assert len(tags.grid.beats(3600.0)[0]) <= MAX_GRID_BEATS
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert outcomes["parsed"] > 20 and outcomes["refused"] > 20, outcomes  # the mutations reach both sides
    assert peak < 100e6, peak


def test_mutated_files_through_the_cli(cases: list[Case], tmp_path: Path) -> None:
    rng = random.Random(SEED + 1)
    per_format = {c: [x for x in cases if x.container == c] for c in _FILE_FORMAT}
    lib = tmp_path / "Music"
    files: list[Path] = []
    store = tmp_path / "store.sqlite"
    for i in range(N_FILES):
        container = list(_FILE_FORMAT)[i % 3]
        sub = tmp_path / f"lib{i}"
        _, _, (f,) = make_library(sub, n=1, fmt=_FILE_FORMAT[container])
        case = rng.choice(per_format[container])
        _, values = mutate(rng, case)
        if i == 0:  # one file as a DJ left it, without a beat grid: its cues are written on djstruct's
            # grid whichever fixtures are present (tests/data only, or shared/ too), so undo has work
            values = {k: v for k, v in case.values.items() if "BeatGrid" not in k}
        put_serato(f, dict(values))
        lib.mkdir(exist_ok=True)
        target = lib / f"{i:02d}{f.suffix}"
        f.rename(target)
        files.append(target)
    with Store.open(store) as st:
        for f in files:
            st.put_analysis(f, analysis_for(f), DETECTOR, VERSION, fingerprint(f))
    readable = {}
    for f in files:
        try:
            read_serato_tags(f)
            readable[f] = True
        except DjstructError:
            readable[f] = False
    assert 0 < sum(readable.values()) < len(files), readable  # both kinds are in the batch
    before = {f: sha(f) for f in files}
    tracemalloc.start()
    try:
        for args in (["library", lib, "--json"], ["writeback", lib, "--store", store, "--dry-run", "--json"]):
            r = invoke(*args)
            assert_clean(r)
            assert r.exit_code in (0, 1)
            rows = [strict_json(line) for line in r.stdout.splitlines() if line.strip()]
            assert len(rows) == len(files) or args[0] == "library"  # library lists the readable ones
        assert {f: sha(f) for f in files} == before  # reading and a dry run change nothing
        r = invoke("writeback", lib, "--store", store)
        assert_clean(r)
        assert r.exit_code in (0, 1)
        for f in files:
            if not readable[f]:
                assert sha(f) == before[f], f"{f}: unreadable tags, yet the file changed"
        assert any(sha(f) != before[f] for f in files)  # cues were written, so undo has work
        r = invoke("undo", "--store", store)
        assert_clean(r, 0)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert {f: sha(f) for f in files} == before
    assert peak < 300e6, peak
