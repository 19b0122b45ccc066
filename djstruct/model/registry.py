"""Model weights by name.

- ``default``: the weights shipped inside the package (``djstruct/model/weights/``), checked against
  the sha256 recorded here;
- ``tiny-random``: a tiny model built on the fly from a fixed seed (tests; not a real detector);
- user models: ``*.pt`` files in ``models_dir()`` (``$DJSTRUCT_MODEL_DIR``, else
  ``platformdirs.user_data_dir("djstruct")/models``), named by file stem; ``djstruct train`` writes there;
- a path to a ``.pt`` file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from djstruct import config
from djstruct.errors import ModelError
from djstruct.model.config import tiny_config

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"

# name -> (file inside WEIGHTS_DIR, sha256)
SHIPPED: dict[str, tuple[str, str]] = {
    "default": ("djstruct-mel-v4.pt", "0bf87b05f0de89b511226f9638600c1f6ec6219acaa510aebbb62e77e351f792"),
    "mel-v3": ("djstruct-mel-v3.pt", "8e8e26ce17017514668e7bbc79c2ee36c4d3b31fd616bffce11a71c0cbfdc95d"),
}
TINY_SEED = 1234
TINY_SHA256 = "tinyrandom00"  # what stands for the sha256 of the tiny-random model


@dataclass(frozen=True)
class ModelEntry:
    name: str
    path: Path | None  # None for models built on the fly
    sha256: str | None
    source: str  # "shipped", "builtin" or "user"


def entries() -> list[ModelEntry]:
    """Every model known by name: shipped, built-in, then user models (sorted)."""
    out = [ModelEntry(n, WEIGHTS_DIR / f, sha, "shipped") for n, (f, sha) in SHIPPED.items()]
    out.append(ModelEntry("tiny-random", None, None, "builtin"))
    d = config.models_dir()
    if d.is_dir():
        taken = {e.name for e in out}
        for p in sorted(d.glob("*.pt")):
            if p.stem not in taken and not p.name.endswith(".last.pt"):
                out.append(ModelEntry(p.stem, p, None, "user"))
    return out


def find(name: str) -> ModelEntry:
    for e in entries():
        if e.name == name:
            return e
    p = Path(name).expanduser()
    if p.suffix == ".pt" or p.is_file():
        return ModelEntry(p.stem, p, None, "user")
    known = ", ".join(e.name for e in entries())
    raise ModelError(None, f"unknown model {name!r}; known models: {known} (or give a path to a .pt file)")


def tiny_random(backbone: str = "mel") -> Any:
    """The ``tiny-random`` model as a Checkpoint (fixed seed, same weights every time)."""
    import torch

    from djstruct.model.checkpoint import Checkpoint
    from djstruct.model.model import StructureModel

    cfg = tiny_config(backbone)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(TINY_SEED)
        model = StructureModel(cfg).eval()
    return Checkpoint(model, cfg, {}, {"postprocess": {"boundary_threshold": 0.3}}, TINY_SHA256, None)


def load_model(name: str = "default") -> Any:
    """Load a model by name (or path) -> :class:`~djstruct.model.checkpoint.Checkpoint`."""
    from djstruct.model.checkpoint import load_checkpoint

    e = find(name)
    if e.name == "tiny-random" and e.path is None:
        return tiny_random()
    assert e.path is not None
    return load_checkpoint(e.path, expected_sha256=e.sha256)
