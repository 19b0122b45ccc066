"""``djstruct`` entry point. Subcommands are imported only when invoked, so ``--help`` is fast."""

from __future__ import annotations

import importlib
import sys

import click

from djstruct import __version__

# name -> (module, attribute, one-line help)
SUBCOMMANDS: dict[str, tuple[str, str, str]] = {
    "analyze": ("djstruct.cli.analyze", "analyze", "Analyse audio files: tempo, beats, sections, drops."),
    "eval": ("djstruct.cli.evaluate", "eval_cmd", "Score a detector against ground-truth JSON files."),
    "scan": ("djstruct.cli.scan", "scan", "Analyse a DJ library (folder, Rekordbox XML/db) incrementally."),
    "status": ("djstruct.cli.status", "status", "What the analysis store knows, by library."),
    "library": ("djstruct.cli.library", "library", "List what djstruct sees in a library, without analysing."),
    "writeback": ("djstruct.cli.writeback", "writeback", "Write hot and memory cues into the library (dry-run first)."),
    "undo": ("djstruct.cli.writeback", "undo", "Restore what a writeback run wrote."),
    "labels": ("djstruct.cli.labels", "labels", "Check the library's own cues as training labels."),
    "synth": ("djstruct.cli.synth", "synth", "Render a synthetic EDM corpus with exact ground truth."),
    "report": ("djstruct.cli.report", "report", "An HTML report to see and hear what djstruct found."),
    "train": ("djstruct.cli.train", "train", "Train the structure model on the synthetic corpus."),
    "models": ("djstruct.cli.models", "models", "List the structure models djstruct can use."),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(SUBCOMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = SUBCOMMANDS.get(cmd_name)
        if entry is None:
            return None
        module, attr, _ = entry
        try:
            return getattr(importlib.import_module(module), attr)
        except ImportError as e:  # an optional dependency (or part) is missing: say so, don't crash
            raise click.UsageError(f"the {cmd_name!r} command is not available here: {e}") from e

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, SUBCOMMANDS[name][2]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="djstruct")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.pass_context
def cli(ctx: click.Context, verbose: int) -> None:
    """djstruct: find the structure of DJ tracks and write it back as cue points."""
    from djstruct.cli.common import call, setup_logging
    from djstruct.config import load_option_defaults

    setup_logging(verbose)
    ctx.ensure_object(dict)
    ctx.default_map = call(load_option_defaults)  # defaults < config file < command line


def main() -> None:
    try:
        cli.main(prog_name="djstruct", standalone_mode=True)
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
