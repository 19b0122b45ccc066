"""Output heads. All work at the frame rate (43.07 Hz) and return logits:

- ``beat`` (B, T) from the local (beat-branch) features;
- ``downbeat``, ``boundary``, ``drop`` (B, T), ``energy`` (B, T, 3: bass, mid, high; sigmoid -> [0, 1])
  and ``label`` (B, T, 5, columns in ``SECTION_LABELS`` order) from the fused features.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from djstruct.types import SECTION_LABELS

EVENT_HEADS = ("beat", "downbeat", "boundary", "drop")


class Heads(nn.Module):
    def __init__(self, d: int) -> None:
        super().__init__()
        self.beat = nn.Linear(d, 1)
        self.fused = nn.Linear(d, 3 + 3 + len(SECTION_LABELS))  # downbeat, boundary, drop | energy | label

    def forward(self, local: torch.Tensor, fused: torch.Tensor) -> dict[str, torch.Tensor]:
        f = self.fused(fused)
        return {
            "beat": self.beat(local)[..., 0],
            "downbeat": f[..., 0],
            "boundary": f[..., 1],
            "drop": f[..., 2],
            "energy": f[..., 3:6],
            "label": f[..., 6:],
        }


def activations(logits: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Probabilities from logits: sigmoid for events and energy, softmax over labels; an
    ``embedding`` (``model(..., with_embedding=True)``) passes through."""
    out = {k: torch.sigmoid(logits[k]) for k in (*EVENT_HEADS, "energy")}
    out["label"] = torch.softmax(logits["label"], dim=-1)
    if "embedding" in logits:
        out["embedding"] = logits["embedding"]
    return out


def mel_activations(model: nn.Module, mel: np.ndarray) -> dict[str, np.ndarray]:
    """One track's activations (``embedding`` and the ``mel`` itself included) from its cached
    (T, 80) dB log-mel, in eval mode;
    the caller's train/eval mode is restored."""
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            out = activations(model(torch.from_numpy(np.asarray(mel, dtype=np.float32))[None], with_embedding=True))
            res = {k: v[0].float().numpy() for k, v in out.items()}
            res["mel"] = np.asarray(mel, dtype=np.float32)  # bar-phase evidence for the post-processing
            return res
    finally:
        model.train(was_training)
