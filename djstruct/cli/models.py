"""``djstruct models list``: the structure models djstruct can load, by name."""

from __future__ import annotations

import click
from rich.table import Table

from djstruct.cli.common import out


@click.group("models")
def models() -> None:
    """Structure models: the shipped default, tiny-random (tests) and your own (djstruct train)."""


@models.command("list")
def list_cmd() -> None:
    """Name, backbone, parameters, file size, sha256 and validation metrics of every known model."""
    from djstruct.config import models_dir
    from djstruct.errors import DjstructError
    from djstruct.model.registry import entries, load_model

    table = Table(header_style="bold")
    for col in ("name", "source", "backbone", "params", "size", "sha256", "validation"):
        table.add_column(col, justify="right" if col in ("params", "size") else "left", no_wrap=col != "validation")
    problems: list[str] = []
    for e in entries():
        size = f"{e.path.stat().st_size / 1e6:.1f} MB" if e.path is not None and e.path.is_file() else "-"
        try:
            ck = load_model(e.name if e.source != "user" else str(e.path))
        except DjstructError as err:
            table.add_row(e.name, e.source, "-", "-", size, "-", "[red]unavailable[/]")
            problems.append(f"{e.name}: {err}")
            continue
        m = ck.metrics
        short = {"boundary_f05": "bound", "downbeat_f": "down", "label_acc": "label", "drop_f": "drop"}
        metrics = " ".join(f"{v} {m[k]:.3f}" for k, v in short.items() if isinstance(m.get(k), (int, float)))
        table.add_row(e.name, e.source, ck.config.backbone, f"{ck.model.n_params:,}", size,
                      ck.sha256[:12], metrics or "-")
    out.print(table)
    for p in problems:
        out.print(p, markup=False)
    out.print(f"user models: {models_dir()} (set DJSTRUCT_MODEL_DIR to change)")
