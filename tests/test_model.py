"""The structure model: frontend, losses, checkpoints, registry, MERT backbone (all tiny and fast)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from djstruct.errors import ModelError
from djstruct.model import frontend as fe
from djstruct.model.checkpoint import FORMAT_VERSION, load_checkpoint, save_checkpoint
from djstruct.model.config import ModelConfig, tiny_config
from djstruct.model.losses import shift_tolerant_bce
from djstruct.model.model import StructureModel
from djstruct.safe_write import file_sha256


def test_frontend_shapes_and_units() -> None:
    sr = fe.SAMPLE_RATE_HZ
    x = np.random.default_rng(0).normal(0, 0.1, sr).astype(np.float32)
    mel = fe.log_mel(x)
    assert mel.shape == (fe.n_frames_for(sr), fe.N_MELS) == (1 + sr // fe.HOP, 80)
    assert mel.dtype == torch.float32
    assert abs(fe.FPS - 43.066) < 1e-3
    batch = fe.log_mel(np.stack([x, x]))
    assert batch.shape == (2, *mel.shape)
    assert torch.allclose(batch[0], mel, atol=1e-4)
    silence = fe.log_mel(np.zeros(sr, np.float32))
    assert float(silence.max()) == pytest.approx(-100.0)
    e = fe.band_energy_from_mel(mel.numpy())
    assert e.shape == (mel.shape[0], 3) and e.min() >= 0.0 and e.max() <= 1.0
    assert fe.loudness_db(mel.numpy()).shape == (mel.shape[0],)
    assert fe.log_mel(np.zeros(100, np.float32)).shape == (1, 80)  # shorter than a window


def _peak(t: int, at: int) -> torch.Tensor:
    x = torch.full((1, t), -8.0)
    x[0, at] = 8.0
    return x


def test_shift_tolerant_bce() -> None:
    target = torch.zeros(1, 100)
    target[0, 50] = 1.0
    exact = shift_tolerant_bce(_peak(100, 50), target, tol=1)
    one_off = shift_tolerant_bce(_peak(100, 51), target, tol=1)
    two_off = shift_tolerant_bce(_peak(100, 52), target, tol=1)
    far = shift_tolerant_bce(_peak(100, 80), target, tol=1)
    assert one_off == pytest.approx(float(exact), abs=1e-6)  # one frame off costs nothing
    assert float(two_off) > 10 * float(exact) + 0.01  # two frames off costs
    assert float(far) > float(two_off)
    mask = torch.ones(1, 100, dtype=torch.bool)
    mask[0, 70:] = False
    assert float(shift_tolerant_bce(_peak(100, 80), target, mask, tol=1)) < float(far)  # padding ignored


def test_model_forward_shapes() -> None:
    model = StructureModel(tiny_config()).eval()
    x = torch.randn(2, 300, 80) * 10 - 40
    mask = torch.ones(2, 300, dtype=torch.bool)
    mask[1, 200:] = False
    out = model(x, mask)
    for k in ("beat", "downbeat", "boundary", "drop"):
        assert out[k].shape == (2, 300)
    assert out["energy"].shape == (2, 300, 3)
    assert out["label"].shape == (2, 300, 5)
    # padding does not change the real frames' result much (masked pooling and attention)
    alone = model(x[1:, :200])
    assert torch.allclose(alone["beat"], out["beat"][1:, :200], atol=1e-4)
    assert ModelConfig().replace(d_model=64).d_model == 64


def test_padding_in_a_batch_changes_nothing() -> None:
    """A track padded in a batch gets every head and its embedding as when run alone (trained
    LayerNorms have biases, so padded frames must be zeroed before each convolution)."""
    torch.manual_seed(0)
    model = StructureModel(tiny_config()).eval()
    with torch.no_grad():
        for mod in model.modules():
            if isinstance(mod, torch.nn.LayerNorm):
                mod.bias.normal_(0.0, 0.5)
    x = torch.randn(2, 300, 80) * 10 - 40
    mask = torch.ones(2, 300, dtype=torch.bool)
    mask[1, 200:] = False
    with torch.no_grad():
        out = model(x, mask, with_embedding=True)
        alone = model(x[1:, :200], with_embedding=True)
    for k, v in alone.items():
        assert torch.allclose(v, out[k][1:, :200], atol=1e-5), k


def test_default_config_is_small() -> None:
    assert StructureModel(ModelConfig()).n_params < 2_000_000


def test_checkpoint_round_trip(tmp_path) -> None:
    torch.manual_seed(0)
    model = StructureModel(tiny_config()).eval()
    path = tmp_path / "m.pt"
    sha = save_checkpoint(path, model, metrics={"boundary_f05": 0.5},
                          extra={"postprocess": {"boundary_threshold": 0.2}})
    assert sha == file_sha256(path)
    ck = load_checkpoint(path, expected_sha256=sha)
    assert ck.config == model.config and ck.metrics == {"boundary_f05": 0.5}
    assert ck.extra["postprocess"]["boundary_threshold"] == 0.2
    x = torch.randn(1, 120, 80) * 10 - 40
    with torch.no_grad():
        for k, v in model(x).items():
            assert torch.equal(v, ck.model(x)[k])
    assert not ck.model.training


def _saved(tmp_path):
    path = tmp_path / "good.pt"
    save_checkpoint(path, StructureModel(tiny_config()))
    return path


def test_missing_checkpoint(tmp_path) -> None:
    with pytest.raises(ModelError, match="not found") as e:
        load_checkpoint(tmp_path / "nope.pt")
    assert "nope.pt" in str(e.value)


def test_truncated_checkpoint(tmp_path) -> None:
    path = _saved(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelError, match="truncated") as e:
        load_checkpoint(path)
    assert str(path) in str(e.value)


def test_garbage_checkpoint(tmp_path) -> None:
    path = tmp_path / "junk.pt"
    path.write_bytes(b"this is not a model" * 10)
    with pytest.raises(ModelError):
        load_checkpoint(path)


def test_wrong_sha256(tmp_path) -> None:
    path = _saved(tmp_path)
    with pytest.raises(ModelError, match="sha256"):
        load_checkpoint(path, expected_sha256="0" * 64)


def _rewrite(path, **changes) -> None:
    obj = torch.load(path, weights_only=True)
    for k, v in changes.items():
        if k == "config":
            obj["config"].update(v)
        else:
            obj[k] = v
    torch.save(obj, path)


def test_other_format_version(tmp_path) -> None:
    path = _saved(tmp_path)
    _rewrite(path, format_version=FORMAT_VERSION + 1)
    with pytest.raises(ModelError, match="format version"):
        load_checkpoint(path)


def test_not_a_djstruct_checkpoint(tmp_path) -> None:
    path = tmp_path / "other.pt"
    torch.save({"state_dict": {}}, path)
    with pytest.raises(ModelError, match="not a djstruct"):
        load_checkpoint(path)


def test_config_weights_mismatch(tmp_path) -> None:
    path = _saved(tmp_path)
    _rewrite(path, config={"d_model": 32})
    with pytest.raises(ModelError, match="do not match"):
        load_checkpoint(path)


def test_unknown_backbone_and_keys(tmp_path) -> None:
    path = _saved(tmp_path)
    _rewrite(path, config={"backbone": "wav2vec9"})
    with pytest.raises(ModelError, match="backbone"):
        load_checkpoint(path)
    path = _saved(tmp_path)
    _rewrite(path, config={"frobnicate": 1})
    with pytest.raises(ModelError, match="unknown keys"):
        load_checkpoint(path)


def test_mert_backbone_without_weights_is_an_error(monkeypatch) -> None:
    monkeypatch.delenv("DJSTRUCT_MERT_PATH", raising=False)
    with pytest.raises(ModelError, match="DJSTRUCT_MERT_PATH"):
        StructureModel(tiny_config("mert"))


def _tiny_hubert_dir(tmp_path):
    from transformers import HubertConfig, HubertModel

    hc = HubertConfig(hidden_size=32, num_hidden_layers=3, num_attention_heads=2, intermediate_size=64,
                      conv_dim=(16,) * 7, num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2)
    torch.manual_seed(0)
    d = tmp_path / "tiny-mert"
    HubertModel(hc).save_pretrained(d)
    return d


def test_mert_backbone_from_local_dir(tmp_path, monkeypatch) -> None:
    d = _tiny_hubert_dir(tmp_path)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("DJSTRUCT_MERT_PATH", str(d))  # found through the environment
    cfg = tiny_config("mert").replace(mert_trainable_layers=1, mert_chunk_s=0.75)  # three chunks
    model = StructureModel(cfg).eval()
    hub = model.backbone.hubert
    trainable = {n.split(".")[2] for n, p in hub.named_parameters() if p.requires_grad}
    assert trainable == {"2"}  # only the last transformer layer
    assert not any(p.requires_grad for p in hub.feature_extractor.parameters())
    wave = np.random.default_rng(0).normal(0, 0.1, 2 * fe.SAMPLE_RATE_HZ).astype(np.float32)
    x, mask = model.prepare([wave])
    assert x.shape == (1, len(wave))
    with torch.no_grad():
        out = model(x, mask)
    assert out["beat"].shape == (1, fe.n_frames_for(len(wave)))
    # the checkpoint carries the HuBERT config: it loads without the weights directory
    path = tmp_path / "mert.pt"
    save_checkpoint(path, model)
    monkeypatch.delenv("DJSTRUCT_MERT_PATH")
    ck = load_checkpoint(path)
    assert ck.config.mert_config is not None and ck.config.mert_config["hidden_size"] == 32
    with torch.no_grad():
        assert torch.allclose(ck.model(x, mask)["beat"], out["beat"], atol=1e-5)


def test_mert_path_that_does_not_exist(tmp_path) -> None:
    cfg = tiny_config("mert").replace(mert_path=str(tmp_path / "missing"))
    with pytest.raises(ModelError, match="offline"):
        StructureModel(cfg)
