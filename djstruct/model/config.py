"""The model's hyper-parameters (:class:`ModelConfig`), stored in every checkpoint."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from djstruct.constants import MODEL_FPS, MODEL_N_MELS
from djstruct.errors import ModelError


@dataclass(frozen=True)
class ModelConfig:
    """Every hyper-parameter of the model and its losses (stored in each checkpoint)."""

    backbone: str = "mel"  # "mel" or "mert"
    n_mels: int = MODEL_N_MELS
    stem_channels: tuple[int, ...] = (8, 16)
    stem_pools: tuple[int, ...] = (4, 2)  # mel-axis pooling after each stem conv
    d_model: int = 80
    tcn_layers: int = 6
    tcn_kernel: int = 5
    struct_pool: int = 16  # 43.07 / 16 = 2.7 Hz (5 tokens per bar at 128 BPM) for the structure transformer
    struct_dim: int = 96
    struct_layers: int = 3
    struct_heads: int = 4
    struct_ff: int = 192
    dropout: float = 0.1
    # mert backbone
    mert_path: str | None = None
    mert_config: dict[str, Any] | None = None  # HubertConfig as a dict (filled in when saving)
    mert_trainable_layers: int = 2
    mert_chunk_s: float = 10.0  # the encoder runs on chunks of this length (MERT was trained on 5 s clips)
    # losses
    loss_weights: dict[str, float] = field(default_factory=lambda: {
        "beat": 1.0, "downbeat": 1.0, "boundary": 1.5, "drop": 1.0, "energy": 2.0, "label": 0.5})
    tolerances: dict[str, int] = field(default_factory=lambda: {
        "beat": 1, "downbeat": 1, "boundary": 3, "drop": 3})
    pos_weights: dict[str, float] = field(default_factory=lambda: {
        "beat": 2.0, "downbeat": 4.0, "boundary": 10.0, "drop": 10.0})

    @property
    def fps(self) -> float:
        return MODEL_FPS

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["stem_channels"] = list(self.stem_channels)
        d["stem_pools"] = list(self.stem_pools)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ModelError(None, f"model config has unknown keys {unknown} (made by a newer djstruct?)")
        d = dict(d)
        for k in ("stem_channels", "stem_pools"):
            if k in d:
                d[k] = tuple(int(c) for c in d[k])
        return cls(**d)

    def replace(self, **kw: Any) -> ModelConfig:
        return dataclasses.replace(self, **kw)


def tiny_config(backbone: str = "mel") -> ModelConfig:
    """A few-thousand-parameter model for tests."""
    return ModelConfig(backbone=backbone, stem_channels=(4, 8), stem_pools=(4, 2), d_model=16, tcn_layers=2,
                       tcn_kernel=3, struct_dim=16, struct_layers=1, struct_heads=2, struct_ff=32, dropout=0.0)
