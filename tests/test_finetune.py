"""train --from-library: fine-tuning on a (synthetic) DJ's cues; clear errors; library untouched."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from djstruct.cli.main import cli
from djstruct.errors import ModelError


@pytest.fixture()
def style_library(short_corpus: Path, tmp_path: Path) -> tuple[Path, Path]:
    from djstruct.synth.library import write_dj_library

    corpus = tmp_path / "corpus"
    shutil.copytree(short_corpus, corpus)
    xml = tmp_path / "rekordbox.xml"
    write_dj_library(corpus, xml, style="pre-drop-16")
    return corpus, xml


def test_library_truth_from_cues(style_library: tuple[Path, Path]) -> None:
    from djstruct.library import LibrarySource
    from djstruct.train.check import check_library
    from djstruct.train.finetune import library_truth

    _, xml = style_library
    res = check_library([LibrarySource("rekordbox-xml", xml)], Path("/nonexistent.sqlite"), reviewed=set())
    truth = library_truth(res.checks[0], 200.0)
    starts = [s["start"] for s in truth["sections"]]
    assert starts == sorted(starts) and len(truth["dj_cues"]) >= 2
    assert {s["label"] for s in truth["sections"]} <= {None, "drop"}  # "-16 Drop 1" names no section
    assert truth["drops"] and all(d in truth["dj_cues"] for d in truth["drops"])


def test_finetune_writes_a_named_model(style_library: tuple[Path, Path], tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    corpus, xml = style_library
    monkeypatch.setenv("DJSTRUCT_MODEL_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("DJSTRUCT_CACHE_DIR", str(tmp_path / "cache"))
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in [xml, *corpus.iterdir()]}
    r = CliRunner().invoke(cli, ["train", "--from-library", "--rekordbox-xml", str(xml), "--name", "mine",
                                 "--base", "tiny-random", "--epochs", "1"])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "models" / "mine.pt").is_file() and (tmp_path / "models" / "mine.json").is_file()
    r = CliRunner().invoke(cli, ["models", "list"])
    assert "mine" in r.output
    from djstruct.detect.base import get_detector

    det = get_detector("ml", model="mine")
    assert det.name == "ml" and det.style is not None  # the DJ's cue style rides in the checkpoint
    from djstruct.model.checkpoint import load_checkpoint
    from djstruct.postprocess.activations import POST_REVISION

    assert load_checkpoint(tmp_path / "models" / "mine.pt").extra["post_revision"] == POST_REVISION
    import json

    hist = json.loads((tmp_path / "models" / "mine.json").read_text())["history"]
    assert [h["epoch"] for h in hist] == [0, 1]  # epoch 0: the style on the starting model alone
    after = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in [xml, *corpus.iterdir()]}
    assert after == before  # training never touches the library


def test_bad_cue_style_in_a_checkpoint_is_a_model_error(tmp_path: Path) -> None:
    from djstruct.detect.ml import MlDetector
    from djstruct.model.checkpoint import save_checkpoint
    from djstruct.model.registry import load_model

    ck = load_model("tiny-random")
    bad = tmp_path / "bad.pt"
    save_checkpoint(bad, ck.model, ck.config, {}, extra={"cue_style": {"coef": [1.0], "feature_version": 99}})
    with pytest.raises(ModelError, match="cue style"):
        MlDetector(model=str(bad))


def test_style_from_older_post_processing_warns(tmp_path: Path, caplog: pytest.LogCaptureFixture,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    import logging

    monkeypatch.setattr(logging.getLogger("djstruct"), "propagate", True)  # the CLI tests turn it off
    caplog.set_level(logging.WARNING, logger="djstruct")
    from djstruct.detect.ml import MlDetector
    from djstruct.model.checkpoint import save_checkpoint
    from djstruct.model.registry import load_model
    from djstruct.postprocess.activations import POST_REVISION
    from djstruct.postprocess.cue_style import CueStyle

    ck = load_model("tiny-random")
    style = CueStyle((0.5, -1.0, 2.0), 0.4, 2).to_dict()
    old, new = tmp_path / "old.pt", tmp_path / "new.pt"
    save_checkpoint(old, ck.model, ck.config, {}, extra={"cue_style": style})  # written before revisions
    save_checkpoint(new, ck.model, ck.config, {}, extra={"cue_style": style, "post_revision": POST_REVISION})
    MlDetector(model=str(new))
    assert "re-fit" not in caplog.text
    MlDetector(model=str(old))
    assert "re-fit it" in caplog.text and "old.pt" in caplog.text


def test_unwritable_model_dir_and_empty_library(style_library: tuple[Path, Path], tmp_path: Path) -> None:
    from djstruct.library import LibrarySource
    from djstruct.train.check import check_library
    from djstruct.train.finetune import FinetuneConfig, finetune

    _, xml = style_library
    res = check_library([LibrarySource("rekordbox-xml", xml)], Path("/nonexistent.sqlite"), reviewed=set())
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ModelError, match="cannot write models"):
        finetune(res.checks, FinetuneConfig(name="x", base="tiny-random", epochs=1), models_dir=blocker / "models")
    empty = tmp_path / "empty.xml"
    empty.write_text('<?xml version="1.0" encoding="UTF-8"?><DJ_PLAYLISTS Version="1.0.0"><COLLECTION Entries="0">'
                     '</COLLECTION></DJ_PLAYLISTS>')
    r = CliRunner().invoke(cli, ["train", "--from-library", "--rekordbox-xml", str(empty)])
    assert r.exit_code == 2 and "need at least 2" in r.output


def test_library_truth_masks_boundary_and_drop_losses(style_library: tuple[Path, Path]) -> None:
    """A DJ's cues are not every section start: library tracks train no boundary or drop head."""
    import numpy as np
    import torch

    from djstruct.library import LibrarySource
    from djstruct.model.losses import total_loss
    from djstruct.model.registry import load_model
    from djstruct.train.check import check_library
    from djstruct.train.dataset import collate, frame_targets
    from djstruct.train.finetune import library_truth

    _, xml = style_library
    res = check_library([LibrarySource("rekordbox-xml", xml)], Path("/nonexistent.sqlite"), reviewed=set())
    truth = library_truth(res.checks[0], 200.0)
    n = int(200.0 * 43.07)
    tg = frame_targets(truth, n, 43.07)
    assert tg["boundary"].sum() > 0 and not tg["boundary_known"].any() and not tg["drop_known"].any()
    synth = frame_targets({**truth, "unknown": []}, n, 43.07)
    assert synth["boundary_known"].all()
    ck = load_model("tiny-random")
    mel = np.zeros((n, 80), dtype=np.float32)
    batch = collate([(mel, np.zeros((n, 3), dtype=np.float32), tg)])
    with torch.no_grad():
        _, parts = total_loss(ck.model(batch["mel"], batch["mask"]), batch, weights=ck.config.loss_weights,
                              tolerances=ck.config.tolerances, pos_weights=ck.config.pos_weights)
    assert parts["boundary"] == 0.0 and parts["drop"] == 0.0 and parts["beat"] > 0.0


def test_no_cue_style_anywhere_is_a_clear_error(style_library: tuple[Path, Path], tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A model that finds no downbeats (from scratch, too few epochs) gives no style and no model."""
    from djstruct.library import LibrarySource
    from djstruct.train import finetune as ft
    from djstruct.train.check import check_library

    _, xml = style_library
    res = check_library([LibrarySource("rekordbox-xml", xml)], Path("/nonexistent.sqlite"), reviewed=set())

    def no_style(*_a, **_k):  # type: ignore[no-untyped-def]
        raise ValueError("no downbeats to learn a cue style from")

    monkeypatch.setattr(ft, "style_agreement", no_style)
    with pytest.raises(ModelError, match="no cue style"):
        ft.finetune(res.checks, ft.FinetuneConfig(name="x", base="tiny-random", epochs=0),
                    cache_dir=tmp_path / "cache", models_dir=tmp_path / "models")
    assert not (tmp_path / "models" / "x.pt").exists()


def test_an_epoch_without_a_style_keeps_the_best_earlier_one(style_library: tuple[Path, Path], tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """A network epoch after which no style can be fitted scores 0 and is not saved; the epoch-0
    model with its style stays the result."""
    import json

    from djstruct.library import LibrarySource
    from djstruct.train import finetune as ft
    from djstruct.train.check import check_library

    _, xml = style_library
    res = check_library([LibrarySource("rekordbox-xml", xml)], Path("/nonexistent.sqlite"), reviewed=set())
    real, calls = ft.style_agreement, []

    def second_fails(*a, **k):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 2:
            raise ValueError("no downbeats to learn a cue style from")
        return real(*a, **k)

    monkeypatch.setattr(ft, "style_agreement", second_fails)
    out = ft.finetune(res.checks, ft.FinetuneConfig(name="x", base="tiny-random", epochs=1),
                      cache_dir=tmp_path / "cache", models_dir=tmp_path / "models")
    hist = json.loads((tmp_path / "models" / "x.json").read_text())["history"]
    assert [h["epoch"] for h in hist] == [0, 1] and hist[1]["f_beat"] == 0.0
    assert out.path.is_file() and out.metrics["epoch"] == 0.0
