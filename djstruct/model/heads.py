"""Output heads. All work at the frame rate (43.07 Hz) and return logits:

- ``beat`` (B, T) from the local (beat-branch) features;
- ``downbeat``, ``boundary``, ``drop`` (B, T), ``energy`` (B, T, 3: bass, mid, high; sigmoid -> [0, 1])
  and ``label`` (B, T, 5, columns in ``SECTION_LABELS`` order) from the fused features.
"""

from __future__ import annotations

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
