"""Training losses.

Events (beat, downbeat, boundary, drop) use the shift-tolerant weighted BCE of beat_this (Foscarin et
al., 2024): predictions are max-pooled over +-``tol`` frames before being compared with the targets, so
a peak up to ``tol`` frames off costs (almost) nothing, and negatives within +-2*``tol`` frames of a target
are ignored (their pooled predictions would include the target's peak). ``pos_weight`` balances the rare
positives; a ``{head}_known`` (B, T) entry in the batch masks a head where its targets are unknown.
Energy: MSE of sigmoid outputs; labels: cross-entropy (frames outside sections ignored).
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

from djstruct.model.heads import EVENT_HEADS

IGNORE = -100


def _spread(x: torch.Tensor, radius: int) -> torch.Tensor:
    """Max over +-radius frames along the last axis (B, T) -> (B, T)."""
    if radius <= 0:
        return x
    return F.max_pool1d(x[:, None], 2 * radius + 1, stride=1, padding=radius)[:, 0]


def shift_tolerant_bce(logits: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor | None = None,
                       *, tol: int = 1, pos_weight: float = 1.0) -> torch.Tensor:
    """Mean shift-tolerant BCE of ``logits`` (B, T) against 0/1 ``targets`` (B, T) over real frames."""
    spread_logits = _spread(logits, tol)
    weight = targets + (1.0 - _spread(targets, 2 * tol))
    if mask is not None:
        weight = weight * mask.to(weight.dtype)
    pw = torch.tensor(pos_weight, dtype=logits.dtype, device=logits.device)
    loss = F.binary_cross_entropy_with_logits(spread_logits, targets, weight=weight, pos_weight=pw, reduction="sum")
    return loss / weight.sum().clamp(min=1.0)


def total_loss(logits: dict[str, torch.Tensor], batch: dict[str, torch.Tensor], *,
               weights: dict[str, float], tolerances: dict[str, int],
               pos_weights: dict[str, float]) -> tuple[torch.Tensor, dict[str, float]]:
    """Weighted sum of all head losses; returns (loss, {head: float loss})."""
    mask = batch["mask"]
    parts: dict[str, torch.Tensor] = {}
    for k in EVENT_HEADS:
        known = batch.get(f"{k}_known")
        m = mask if known is None else mask & (known > 0)
        parts[k] = shift_tolerant_bce(logits[k], batch[k], m, tol=tolerances[k], pos_weight=pos_weights[k])
    m = mask[..., None].to(logits["energy"].dtype)
    parts["energy"] = ((torch.sigmoid(logits["energy"]) - batch["energy"]) ** 2 * m).sum() / (3 * m.sum()).clamp(1)
    lab = batch["label"].masked_fill(~mask, IGNORE)
    if bool((lab != IGNORE).any()):
        parts["label"] = F.cross_entropy(logits["label"].reshape(-1, logits["label"].shape[-1]), lab.reshape(-1),
                                         ignore_index=IGNORE)
    else:
        parts["label"] = logits["label"].sum() * 0.0
    total = sum(weights[k] * v for k, v in parts.items())
    return total, {k: float(v.detach()) for k, v in parts.items()}
