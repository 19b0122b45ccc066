"""The sampled engine (``djstruct synth --engine sampled``): truth consistency, determinism, pools
that share no sound, loudness, structure in the audio, and the training-data plumbing.

Rendering needs the Debian sound packages (sonic-pi-samples, musescore-general-soundfont,
timgm6mb-soundfont, freepats, espeak-ng, libfluidsynth3) and pyfluidsynth; those tests are skipped
with the list of what is missing. Short tracks (8-bar sections) keep this fast."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from djstruct.synth.sampled import kits, registry
from djstruct.synth.sampled.genres import GENRES, genres_for
from djstruct.synth.sampled.master import MasterSettings, integrated_lufs, master
from djstruct.synth.sampled.plan import TEMPLATES

SR = 44100
BASE_KEYS = {"genre", "bpm", "offset_s", "duration_s", "beats", "downbeats", "sections", "drops"}
NEW_KEYS = {"engine", "pool", "template", "section_variants", "events", "sources", "sounds", "loudness_lufs"}
TRACKS = (("train", 5, 0), ("train", 5, 3), ("heldout", 5, 1), ("heldout", 5, 2))


def _missing() -> str:
    missing = list(registry.missing_packages())
    try:
        import fluidsynth  # noqa: F401
    except (ImportError, OSError):
        missing.append("pyfluidsynth + libfluidsynth3")
    return ", ".join(missing)


needs_sounds = pytest.mark.skipif(bool(_missing()), reason=f"sampled engine needs: {_missing()}")


@pytest.fixture(scope="module")
def rendered() -> dict[tuple[str, int, int], tuple[np.ndarray, dict]]:
    from djstruct.synth.sampled import render_track

    return {key: render_track(key[1], key[2], key[0], short=True) for key in TRACKS}


@needs_sounds
def test_truth_is_consistent(rendered) -> None:
    for (pool, _, _), (audio, truth) in rendered.items():
        assert BASE_KEYS | NEW_KEYS <= set(truth)
        json.dumps(truth)
        assert truth["engine"] == "sampled" and truth["pool"] == pool
        period = 60.0 / truth["bpm"]
        beats = np.asarray(truth["beats"])
        assert beats[0] == pytest.approx(truth["offset_s"], abs=1e-4)
        assert np.allclose(beats, truth["offset_s"] + period * np.arange(len(beats)), atol=6e-5)
        assert len(beats) % 4 == 0 and truth["downbeats"] == truth["beats"][::4]
        secs = truth["sections"]
        assert secs[0]["start"] == truth["offset_s"] and secs[0]["label"] == "intro" and secs[-1]["label"] == "outro"
        assert secs[-1]["end"] == pytest.approx(truth["offset_s"] + period * len(beats), abs=2e-4)
        downbeats = set(truth["downbeats"])
        for a, b in zip(secs[:-1], secs[1:], strict=True):
            assert a["end"] == b["start"] and b["start"] in downbeats
        assert truth["drops"] == [s["start"] for s in secs if s["label"] == "drop"] and truth["drops"]
        assert len(truth["section_variants"]) == len(secs)
        starts = {s["start"] for s in secs}
        for e in truth["events"]:  # changes inside a section are never boundaries
            assert e["time"] in downbeats and e["time"] not in starts
        assert truth["duration_s"] == pytest.approx(audio.shape[0] / SR, abs=1e-4)
        assert truth["duration_s"] > secs[-1]["end"]
        assert audio.dtype == np.float32 and audio.ndim == 2 and audio.shape[1] == 2 and np.all(np.isfinite(audio))


@needs_sounds
def test_same_seed_same_audio_in_any_order(rendered) -> None:
    from djstruct.synth.sampled import render_track

    a1, t1 = rendered[TRACKS[2]]
    render_track(6, 0, "heldout", short=True)  # other notes through the same process first
    a2, t2 = render_track(TRACKS[2][1], TRACKS[2][2], "heldout", short=True)
    assert t1 == t2 and np.array_equal(a1, a2)
    a3, _ = render_track(TRACKS[2][1], TRACKS[2][2] + 1, "heldout", short=True)
    assert a3.shape != a1.shape or not np.array_equal(a1, a3)


def test_pools_share_no_sound_template_genre_or_voice() -> None:
    train, held = kits.catalogue_files("train"), kits.catalogue_files("heldout")
    assert train and held and not train & held
    assert {s.pool for s in registry.SOURCES.values()} == {"train", "heldout", "both"}
    assert not set(registry.ESPEAK_VOICES["train"]) & set(registry.ESPEAK_VOICES["heldout"])
    assert not set(registry.ESPEAK_VARIANTS["train"]) & set(registry.ESPEAK_VARIANTS["heldout"])
    held_templates = {t for t, (_, pools) in TEMPLATES.items() if pools == ("heldout",)}
    assert len(held_templates) >= 3 and all("train" not in TEMPLATES[t][1] for t in held_templates)
    held_genres = set(genres_for("heldout")) - set(genres_for("train"))
    assert len(held_genres) >= 2 and set(genres_for("train")) < set(GENRES)
    for name in ("hydrogen", "fluid-soundfont", "fluidr3", "lmms"):  # reserved for independent evaluation
        assert not any(name in f.lower() for f in train | held)
        assert not any(name in s.package for s in registry.SOURCES.values())


@needs_sounds
def test_rendered_tracks_use_only_their_pool(rendered) -> None:
    allowed = {p: set(registry.pool_sources(p)) for p in registry.POOLS}
    for (pool, _, _), (_, truth) in rendered.items():
        assert set(truth["sources"]) <= allowed[pool]
        used = {v.split(":", 1)[0] for k, v in truth["sounds"].items() if k != "vocal"}
        assert used <= allowed[pool] - {"espeak-ng"}
        assert truth["sounds"] and any(k.startswith("drum.kick") for k in truth["sounds"])
        if "vocal" in truth["sounds"]:
            lang = truth["sounds"]["vocal"].split(":", 1)[1].split("+")[0]
            assert lang in registry.ESPEAK_VOICES[pool]
        assert truth["genre"] in genres_for(pool) and pool in TEMPLATES[truth["template"]][1]


@needs_sounds
def test_club_loudness_measured(rendered) -> None:
    for _, (audio, truth) in rendered.items():
        assert -8.6 <= truth["loudness_lufs"] <= -5.4
        assert integrated_lufs(audio) == pytest.approx(truth["loudness_lufs"], abs=0.3)
        assert np.max(np.abs(audio)) <= 10 ** (-0.1 / 20) + 1e-6


def test_loudness_meter_and_master_on_a_known_signal() -> None:
    rng = np.random.default_rng(0)
    t = np.arange(60 * SR) / SR
    tone = 0.1 * np.sin(2 * np.pi * 1000 * t)  # BS.1770: a -20 dBFS 1 kHz sine in both channels reads -20 LUFS
    assert integrated_lufs(np.stack([tone, tone], 1).astype(np.float32)) == pytest.approx(-20.0, abs=0.1)
    kick = (np.sin(2 * np.pi * 55 * t) * np.exp(-np.mod(t, 0.5) / 0.12)).astype(np.float32)
    mix = np.stack([kick, kick]) + 0.05 * rng.standard_normal((2, len(t))).astype(np.float32)
    out, lufs = master(mix, MasterSettings(target_lufs=-7.0, ceiling_dbfs=-0.5))
    assert out.shape == (len(t), 2) and np.max(np.abs(out)) <= 10 ** (-0.5 / 20) + 1e-6
    assert lufs == pytest.approx(-7.0, abs=0.4) and integrated_lufs(out) == pytest.approx(lufs, abs=0.3)
    pyln = pytest.importorskip("pyloudnorm")
    assert pyln.Meter(SR).integrated_loudness(out.astype(np.float64)) == pytest.approx(integrated_lufs(out), abs=0.15)


def _lufs(audio: np.ndarray, a: float, b: float) -> float:
    return integrated_lufs(audio[int(a * SR): int(b * SR)])


@needs_sounds
def test_the_audio_has_the_structure_the_truth_claims(rendered) -> None:
    from scipy import signal

    sos = signal.butter(4, 150, fs=SR, output="sos")
    for _, (audio, truth) in rendered.items():
        secs = truth["sections"]
        drops = [s for s in secs if s["label"] == "drop"]
        breaks = [s for s in secs if s["label"] == "breakdown"]
        assert min(_lufs(audio, s["start"], s["end"]) for s in drops) > \
            max(_lufs(audio, s["start"], s["end"]) for s in breaks) + 2.0
        low = signal.sosfilt(sos, audio.mean(axis=1))
        bar = 240.0 / truth["bpm"]
        for s in drops:  # the full groove and bass come in at the drop: its first bar has more low end
            prev = next(p for p in secs if p["end"] == s["start"])
            if prev["label"] == "drop":
                continue
            before = low[int(prev["start"] * SR): int(prev["end"] * SR)]
            after = low[int(s["start"] * SR): int((s["start"] + bar) * SR)]
            assert np.sqrt(np.mean(after ** 2)) > 1.4 * np.sqrt(np.mean(before ** 2))
            if prev["label"] == "buildup":  # ... and the buildup grows to its loudest bars before its silent gap
                mid = prev["start"] + (prev["end"] - prev["start"]) / 2
                end = prev["end"] - (bar if _lufs(audio, prev["end"] - bar / 4, prev["end"]) < -40 else 0)
                assert _lufs(audio, end - 2 * bar, end) > _lufs(audio, prev["start"], mid) + 1.5
        if truth["offset_s"] > 0.05:  # nothing before the first downbeat
            assert np.max(np.abs(audio[: int((truth["offset_s"] - 0.01) * SR)])) < 1e-4


def test_missing_package_is_named(tmp_path, monkeypatch) -> None:
    from djstruct.synth.sampled import render_track

    monkeypatch.setenv(registry.ROOT_ENV, str(tmp_path))
    monkeypatch.setattr("shutil.which", lambda _name: None)
    registry.missing_packages.cache_clear()
    try:
        with pytest.raises(registry.MissingSoundError, match="sonic-pi-samples"):
            render_track(0, 0, "train", short=True)
        with pytest.raises(registry.MissingSoundError, match="freepats"):
            render_track(0, 0, "heldout", short=True)
    finally:
        registry.missing_packages.cache_clear()


def test_unknown_pool_is_a_config_error() -> None:
    from djstruct.errors import ConfigError
    from djstruct.synth.sampled import render_track

    with pytest.raises(ConfigError, match="pool"):
        render_track(0, 0, "validation")


@needs_sounds
def test_freepats_patch_plays_in_tune() -> None:
    from djstruct.synth.sampled import gus

    x = gus.render_patch_note(registry.freepats("Tone_000", "080_Square_Wave"), 57, SR)[0][4000:36000]
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    f = np.fft.rfftfreq(len(x), 1 / SR)
    assert f[np.argmax(spec)] == pytest.approx(220.0, rel=0.02)
    with pytest.raises(Exception, match="GF1PATCH"):
        gus.load_patch(Path(__file__))


def test_dataset_cache_names_keep_engines_and_pools_apart(tmp_path) -> None:
    from djstruct.train import dataset as ds

    names = {ds.cache_path(tmp_path, 3, 1, e, p).name for e, p in
             (("synth", "train"), ("sampled", "train"), ("sampled", "heldout"))}
    assert len(names) == 3 and ds.cache_path(tmp_path, 3, 1).name.startswith("synth-3-001-")
    mixed = [ds.engine_for("mixed", i, 0.25) for i in range(8)]
    assert mixed.count("synth") == 2 and mixed[:4].count("synth") == 1
    assert [ds.engine_for("sampled", i) for i in range(3)] == ["sampled"] * 3


def test_training_refuses_the_heldout_pool(tmp_path) -> None:
    from djstruct.errors import ConfigError
    from djstruct.train.loop import TrainConfig, train

    with pytest.raises(ConfigError, match="validation pool"):
        train(TrainConfig(n_tracks=2, seed=3, engine="sampled", pool="heldout"), tmp_path / "m.pt", tmp_path)


@needs_sounds
def test_sampled_training_data_and_one_epoch(tmp_path) -> None:
    from djstruct.model.config import tiny_config
    from djstruct.train import dataset as ds
    from djstruct.train.loop import TrainConfig, train

    path = ds.prepare_track(3, 1, tmp_path, short=True, engine="sampled")
    assert path.name.startswith("sampled-train-3-001-") and path.name.endswith("-short.npz")
    tr = ds.load_track(path)
    assert tr.truth["engine"] == "sampled" and tr.truth["name"].startswith("sampled-train-3-001-")
    t = ds.frame_targets(tr.truth, tr.n_frames, 43.066)
    assert t["drop"].sum() == len(tr.truth["drops"]) and t["boundary"].sum() == len(tr.truth["sections"]) - 1
    cfg = TrainConfig(n_tracks=2, seed=3, epochs=1, val_every=1, short=True, engine="mixed", synth_share=0.5,
                      model=tiny_config(), augment=ds.AugmentConfig(min_crop_s=20, max_crop_s=30))
    res = train(cfg, tmp_path / "m.pt", tmp_path)
    assert res.epochs_run == 1 and (tmp_path / "m.pt").is_file()
    names = sorted(p.name.rsplit("-", 2)[0] for p in tmp_path.glob("*.npz"))  # mixed: track 0 sampled, 1 synth
    assert names == ["sampled-train-3-000", "sampled-train-3-001", "synth-3-001"]


@needs_sounds
def test_synth_cli_sampled_heldout(tmp_path) -> None:
    from click.testing import CliRunner

    from djstruct.cli.main import cli

    r = CliRunner().invoke(cli, ["synth", str(tmp_path), "--engine", "sampled", "--pool", "heldout", "--n", "1",
                                 "--seed", "2", "--short", "--formats", "flac", "--workers", "1"])
    assert r.exit_code == 0, r.output
    (js,) = tmp_path.glob("sampled-heldout-2-000-*.json")
    truth = json.loads(js.read_text())
    assert (tmp_path / truth["file"]).is_file() and truth["pool"] == "heldout"
    r = CliRunner().invoke(cli, ["synth", str(tmp_path), "--engine", "sampled", "--variety", "0.5"])
    assert r.exit_code != 0 and "variety" in r.output
