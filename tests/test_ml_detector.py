"""The trained detector end to end, the training data and loop, the registry and CLI (tiny and fast)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from djstruct.detect.ml import MlDetector
from djstruct.errors import ModelError
from djstruct.types import SECTION_LABELS, Analysis, Audio


@pytest.fixture(scope="module")
def short_track():
    from djstruct.synth import SR, render_track

    audio, truth = render_track(3, 0, short=True)
    return Audio(audio.mean(axis=1), SR), truth


@pytest.fixture(scope="module")
def cached(tmp_path_factory):
    from djstruct.train import dataset as ds

    cache = tmp_path_factory.mktemp("features")
    return cache, ds.prepare_track(3, 0, cache, short=True)


def _check_analysis(a: Analysis) -> None:
    assert a.detector == "ml"
    assert a.sections, "no sections"
    for s, t in zip(a.sections[:-1], a.sections[1:], strict=True):
        assert s.end_s == pytest.approx(t.start_s)
    assert all(s.end_s > s.start_s for s in a.sections)
    assert {s.label for s in a.sections} <= set(SECTION_LABELS)
    assert set(np.round(a.downbeats, 6)) <= set(np.round(a.beats, 6))
    assert a.sections[-1].end_s <= a.duration_s + 1e-6
    assert a.energy is not None and a.energy.bass.min() >= 0.0 and a.energy.bass.max() <= 1.0


def test_ml_detector_tiny_random(short_track) -> None:
    from djstruct.detect.base import get_detector

    audio, _ = short_track
    det = get_detector("ml", model="tiny-random", device="cpu")
    assert det.name == "ml" and det.sample_rate_hz == 22050 and det.batched
    from djstruct.postprocess.activations import POST_REVISION

    assert det.version.endswith(f".p{POST_REVISION}") and len(det.version.split(".")[0]) == 12
    a = det.analyze(audio)
    _check_analysis(a)
    # a batch of different lengths comes back in order, the same as one by one
    short = Audio(audio.samples[: 30 * audio.sample_rate_hz], audio.sample_rate_hz)
    tiny = Audio(np.zeros(100, np.float32), 22050)
    res = det.analyze_batch([audio, short, tiny])
    assert len(res) == 3
    assert res[0].duration_s == pytest.approx(audio.duration_s)
    assert res[1].duration_s == pytest.approx(30.0)
    assert res[0].beats == pytest.approx(a.beats, abs=1e-3)
    assert res[2].sections and res[2].bpm is None


def test_out_of_memory_halves_the_batch(short_track, monkeypatch, caplog) -> None:
    """A device that runs out of memory on more than one track gets smaller batches; every track
    is still analysed, in order. Another RuntimeError is a DetectorError naming the file."""
    import logging

    from djstruct.detect.ml import MlDetector
    from djstruct.errors import DetectorError

    monkeypatch.setattr(logging.getLogger("djstruct"), "propagate", True)  # the CLI tests turn it off
    caplog.set_level(logging.WARNING, logger="djstruct")
    audio, _ = short_track
    sr = audio.sample_rate_hz
    clips = [Audio(audio.samples[k * sr: (k + 20 + 3 * k) * sr], sr, path=Path(f"/music/{k}.mp3")) for k in range(6)]
    det = MlDetector("tiny-random", device="cpu", batch_size=8)  # at most 4 per batch on a CPU
    alone = [det.analyze(c) for c in clips]
    real = det.activations
    sizes: list[int] = []

    def flaky(waves):  # noqa: ANN001, ANN202
        sizes.append(len(waves))
        if len(waves) > 2:
            raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real(waves)

    monkeypatch.setattr(det, "activations", flaky)
    monkeypatch.setattr("torch.cuda.empty_cache", lambda: None)
    res = det.analyze_batch(clips)
    assert sizes == [4, 2, 2, 2]
    assert [r.duration_s for r in res] == [a.duration_s for a in alone]  # in the order given
    for r, a in zip(res, alone, strict=True):
        assert r.beats == pytest.approx(a.beats, abs=1e-6)
        assert [s.label for s in r.sections] == [s.label for s in a.sections]
        assert [s.start_s for s in r.sections] == pytest.approx([s.start_s for s in a.sections], abs=1e-6)
    assert "out of memory" in caplog.text

    monkeypatch.setattr(det, "activations", lambda waves: (_ for _ in ()).throw(RuntimeError("bad kernel")))
    with pytest.raises(DetectorError, match="bad kernel") as info:
        det.analyze_batch(clips[:1])
    assert "0.mp3" in str(info.value)


def test_postprocess_on_ideal_activations(short_track) -> None:
    """Perfect activations through the shared post-processing give the truth back."""
    from djstruct.evaluate import score_track
    from djstruct.model import frontend as fe
    from djstruct.postprocess.activations import postprocess
    from djstruct.signal import to_analysis_rate
    from djstruct.train.dataset import frame_targets

    audio, truth = short_track
    mel = fe.log_mel(to_analysis_rate(audio.samples, audio.sample_rate_hz)).numpy()
    t = frame_targets(truth, len(mel), fe.FPS)
    smooth = np.array([0.3, 1.0, 0.3])
    act = {k: np.convolve(t[k], smooth, mode="same") for k in ("beat", "downbeat", "boundary", "drop")}
    lab = np.where(t["label"] < 0, 0, t["label"])
    act["label"] = np.eye(5)[lab]
    act["energy"] = fe.band_energy_from_mel(mel)
    est = postprocess(act, fe.FPS, audio.duration_s, fe.loudness_db(mel))
    m = score_track(truth, est)
    assert m["bpm_acc1"] == 1.0 and m["beat_f"] > 0.95 and m["downbeat_f"] > 0.95
    assert m["boundary_f05"] > 0.9 and m["label_acc"] > 0.9 and m["drop_f"] == 1.0


def test_postprocess_embedding_novelty_finds_sections_the_head_misses(short_track) -> None:
    """With a silent boundary head, a change in the embedding alone places the section starts
    (on real music the head often stays quiet where the sound changes); a drop split in two by a
    strong change stays two sections but one drop."""
    from dataclasses import replace

    from djstruct.evaluate import score_track
    from djstruct.model import frontend as fe
    from djstruct.postprocess.activations import PostConfig, postprocess
    from djstruct.signal import to_analysis_rate
    from djstruct.train.dataset import frame_targets

    audio, truth = short_track
    mel = fe.log_mel(to_analysis_rate(audio.samples, audio.sample_rate_hz)).numpy()
    t = frame_targets(truth, len(mel), fe.FPS)
    smooth = np.array([0.3, 1.0, 0.3])
    act = {k: np.convolve(t[k], smooth, mode="same") for k in ("beat", "downbeat", "drop")}
    act["boundary"] = np.zeros(len(mel))
    lab = np.where(t["label"] < 0, 0, t["label"])
    act["label"] = np.eye(5)[lab]
    act["energy"] = fe.band_energy_from_mel(mel)
    section = np.zeros(len(mel), dtype=np.int64)
    for k, s in enumerate(truth["sections"]):
        section[int(s["start"] * fe.FPS):] = k
    act["embedding"] = np.eye(100)[section]  # one direction per section
    loud = fe.loudness_db(mel)
    head_only = postprocess(act, fe.FPS, audio.duration_s, loud,
                            cfg=PostConfig(novelty_weight=0.0, band_novelty_weight=0.0))
    assert len(head_only.sections) == 1
    m = score_track(truth, postprocess(act, fe.FPS, audio.duration_s, loud))
    assert m["boundary_f05"] > 0.9 and m["label_acc"] > 0.9 and m["drop_f"] == 1.0

    # a strong embedding change halfway through the first drop: the second half is labelled drop too
    first_drop = [s for s in truth["sections"] if s["label"] == "drop"][0]
    mid = 0.5 * (first_drop["start"] + first_drop["end"])
    split = section.copy()
    split[int(mid * fe.FPS): int(first_drop["end"] * fe.FPS)] = 99
    act["embedding"] = np.eye(100)[split]
    est = postprocess(act, fe.FPS, audio.duration_s, loud)
    drops = [s for s in est.sections if s.label == "drop"]
    assert len(drops) == len(truth["drops"]) + 1
    assert est.drops == pytest.approx(truth["drops"], abs=0.1)
    merged = postprocess(act, fe.FPS, audio.duration_s, loud, cfg=replace(PostConfig(), keep_same_label=1.1))
    assert len([s for s in merged.sections if s.label == "drop"]) == len(truth["drops"])

    # the novelty's scale comes from bars a section may start at: a bigger change in the first
    # bars (opposite directions, cosine distance 2) does not halve every real boundary's score
    edge = np.eye(100)[section]
    first_bar_s = 240.0 / truth["bpm"]
    a0 = int((truth["sections"][0]["start"] + first_bar_s) * fe.FPS)
    edge[:a0] *= -1.0
    act["embedding"] = edge
    strict = PostConfig(boundary_threshold=0.6)
    m = score_track(truth, postprocess(act, fe.FPS, audio.duration_s, loud, cfg=strict))
    assert m["boundary_f05"] > 0.9

    # confidence is the boundary head's: novelty alone finds the sections but does not vouch for them
    act["embedding"] = np.eye(100)[section]
    silent = postprocess(act, fe.FPS, audio.duration_s, loud)
    act["boundary"] = np.convolve(t["boundary"], smooth, mode="same")
    sure = postprocess(act, fe.FPS, audio.duration_s, loud)
    assert silent.sections == sure.sections
    assert sure.confidence - silent.confidence > 0.4  # the head's contrast is half the confidence


def test_feature_cache_is_reused(cached, monkeypatch) -> None:
    from djstruct import synth
    from djstruct.model import frontend as fe
    from djstruct.train import dataset as ds

    cache, path = cached
    monkeypatch.setattr(synth, "render_track", lambda *a, **k: pytest.fail("rendered again"))
    assert ds.prepare_track(3, 0, cache, short=True) == path
    tr = ds.load_track(path)
    assert tr.mel.shape[1] == fe.N_MELS and tr.energy.shape == (tr.n_frames, 3)
    t = ds.frame_targets(tr.truth, tr.n_frames, fe.FPS)
    assert t["beat"].sum() == len(tr.truth["beats"])
    assert t["boundary"].sum() == len(tr.truth["sections"]) - 1
    assert set(np.unique(t["label"])) <= {ds.IGNORE, 0, 1, 2, 3, 4}
    rng = np.random.default_rng(0)
    mel, energy, tg = ds.augment(tr, rng, ds.AugmentConfig(min_crop_s=20, max_crop_s=40))
    assert len(mel) == len(energy) == len(tg["beat"]) <= int(40 * fe.FPS) + 1
    assert ds.split_indices(20, 0.1) == ([i for i in range(20) if i % 10 != 9], [9, 19])


def test_tiny_model_learns(cached) -> None:
    from djstruct.model.config import tiny_config
    from djstruct.model.losses import total_loss
    from djstruct.model.model import StructureModel
    from djstruct.train import dataset as ds

    _, path = cached
    tr = ds.load_track(path)
    torch.manual_seed(0)
    cfg = tiny_config()
    model = StructureModel(cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    batch = ds.collate([ds.augment(tr, np.random.default_rng(0), None)])
    losses = []
    for _ in range(12):
        loss, _ = total_loss(model(batch["mel"], batch["mask"]), batch, weights=cfg.loss_weights,
                             tolerances=cfg.tolerances, pos_weights=cfg.pos_weights)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < 0.7 * losses[0]


def test_train_loop_and_resume(cached, tmp_path) -> None:
    from djstruct.model.checkpoint import load_checkpoint
    from djstruct.model.config import ModelConfig, tiny_config
    from djstruct.train import dataset as ds
    from djstruct.train.loop import TrainConfig, train

    cache, _ = cached
    ds.prepare_track(3, 1, cache, short=True)
    cfg = TrainConfig(n_tracks=2, seed=3, epochs=1, val_every=1, short=True, model=tiny_config(),
                      augment=ds.AugmentConfig(min_crop_s=20, max_crop_s=30))
    out = tmp_path / "m.pt"
    res = train(cfg, out, cache)
    assert out.is_file() and out.with_suffix(".last.pt").is_file() and res.epochs_run == 1
    ck = load_checkpoint(out)
    assert "boundary_threshold" in ck.extra["postprocess"] and ck.extra["training"]["seed"] == 3
    res = train(TrainConfig(**{**cfg.__dict__, "epochs": 2}), out, cache, resume=True)
    assert res.epochs_run == 2 and [r["epoch"] for r in res.history] == [1, 2]
    # --init: start from those weights; with a learning rate of 0 they come back unchanged
    start = load_checkpoint(out)
    again = tmp_path / "again.pt"
    train(TrainConfig(**{**cfg.__dict__, "lr": 0.0, "init": str(out), "model": ModelConfig()}), again, cache)
    ck2 = load_checkpoint(again)
    assert ck2.config == start.config
    for k, v in start.model.state_dict().items():
        assert torch.equal(v, ck2.model.state_dict()[k]), k
    # resuming that run needs neither --init nor the right --model config: the last checkpoint has it
    res = train(TrainConfig(**{**cfg.__dict__, "epochs": 2, "model": ModelConfig()}), again, cache, resume=True)
    assert [r["epoch"] for r in res.history] == [1, 2]


def test_train_refuses_evaluation_seeds(tmp_path) -> None:
    from djstruct.cli.main import cli

    r = CliRunner().invoke(cli, ["train", "--synthetic", "4", "--seed", "4711", "--out", str(tmp_path / "x.pt")])
    assert r.exit_code == 2 and "evaluation seed" in r.output


def test_registry_and_models_list(tmp_path, monkeypatch) -> None:
    from djstruct.cli.main import cli
    from djstruct.model import registry
    from djstruct.model.checkpoint import save_checkpoint
    from djstruct.model.config import tiny_config
    from djstruct.model.model import StructureModel

    monkeypatch.setenv("DJSTRUCT_MODEL_DIR", str(tmp_path))
    save_checkpoint(tmp_path / "mine.pt", StructureModel(tiny_config()), metrics={"boundary_f05": 0.25})
    names = [e.name for e in registry.entries()]
    assert names[0] == "default" and {"mel-v3", "tiny-random", "mine"} <= set(names)
    assert registry.load_model("mine").metrics["boundary_f05"] == 0.25
    assert registry.load_model(str(tmp_path / "mine.pt")).config == tiny_config()
    with pytest.raises(ModelError, match="unknown model"):
        registry.load_model("no-such-model")
    r = CliRunner().invoke(cli, ["models", "list"])
    assert r.exit_code == 0, r.output
    assert "mine" in r.output and "tiny-random" in r.output


def test_shipped_default_weights() -> None:
    from djstruct.model import registry
    from djstruct.safe_write import file_sha256

    fname, sha = registry.SHIPPED["default"]
    path = registry.WEIGHTS_DIR / fname
    assert path.is_file(), "the default weights are not in the package"
    assert path.stat().st_size <= 20_000_000
    assert file_sha256(path) == sha
    ck = registry.load_model("default")
    assert ck.config.backbone == "mel" and ck.sha256 == sha
    assert 0.0 < ck.extra["postprocess"]["boundary_threshold"] < 1.0


def test_model_version_without_loading_the_weights(tmp_path) -> None:
    """What a Ray driver plans with (no torch) is the version the detector reports."""
    import shutil

    from djstruct.detect.ml import model_version
    from djstruct.model.registry import SHIPPED, WEIGHTS_DIR

    mine = tmp_path / "mine.pt"
    shutil.copy(WEIGHTS_DIR / SHIPPED["default"][0], mine)
    for name in ("default", "tiny-random", str(mine)):
        assert model_version(name) == MlDetector(name, device="cpu").version, name
    with pytest.raises(ModelError):
        model_version(str(tmp_path / "missing.pt"))
