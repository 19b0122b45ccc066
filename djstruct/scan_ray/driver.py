"""The driver of ``djstruct scan --engine ray``: the local scan's track list, on Ray Data.

1. Under the store's run lock, analyses in the Parquet output that the store lacks are put into it
   (:func:`~djstruct.scan_ray.output.fill_store`), then the track list is planned exactly as the
   local pool plans it (:func:`djstruct.scan.plan_tracks`): new, changed and failed tracks.
2. One streaming Ray Data pipeline runs over that list: :func:`~.stages.decode_row` in CPU tasks,
   :class:`~.stages.ModelStage` in an actor pool (one GPU per actor where the cluster has GPUs),
   :func:`~.stages.post_row` in CPU tasks (a detector that does not batch analyses while decoding).
3. Results stream back to the driver, which writes them to the Parquet output (a part every
   ``part_rows`` rows or ``flush_s`` seconds) and then fills the store from the part. Killed at any
   moment, a run leaves complete parts and a store that holds every row of them (or will, at the
   next run's step 1): the next run redoes only tracks that have no row.

The driver holds the track list and one part's rows, never the audio: Ray's streaming executor
keeps a bounded number of tracks in flight.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from djstruct.config import store_path as default_store_path
from djstruct.constants import ANALYSIS_RATE_HZ
from djstruct.cues.grid import check_grid
from djstruct.detect import ml
from djstruct.detect.base import default_detector_name, get_detector
from djstruct.detect.ml import MlDetector
from djstruct.errors import ConfigError, DetectorError, DjstructError
from djstruct.lock import RunLock
from djstruct.scan import ScanConfig, ScanEvent, ScanResult, plan_tracks
from djstruct.scan_ray import output, stages
from djstruct.store import Store
from djstruct.types import Analysis, LibraryGrid

log = logging.getLogger(__name__)

# input blocks of the pipeline: one track each up to this many tracks, then several. Ray Data keeps
# ~7 KiB in the driver per input block (measured), so this bounds the driver's memory, and still
# gives a thousand decode tasks at once to a big cluster.
MAX_BLOCKS = 1_000
TASK_RETRIES = 2  # a decode / post-processing task whose worker died is run again this often, then dropped


@dataclass(frozen=True)
class RayOptions:
    """How a Ray scan runs. ``address``: a running cluster (``"auto"``, ``"ray://host:10001"``, ``host:6379``);
    None starts a local Ray runtime with ``ScanConfig.workers`` CPUs (an already initialised runtime is
    used as it is). ``output``: the Parquet dataset folder (default
    :func:`~djstruct.scan_ray.output.default_folder` of the store). ``model_actors``: model actors
    (default: one per GPU, else one); ``model_cpus``: CPUs each actor reserves, and its torch threads
    on a CPU; ``decode_cpus`` and ``post_cpus``: CPUs each decode / post-processing task reserves."""

    address: str | None = None
    output: Path | None = None
    model_actors: int | None = None
    model_cpus: float = 1.0
    decode_cpus: float = 1.0
    post_cpus: float = 0.5
    part_rows: int = 512
    flush_s: float = 10.0
    fuse_post: bool = True


def run_scan_ray(config: ScanConfig, options: RayOptions | None = None,
                 on_event: Callable[[ScanEvent], None] | None = None) -> ScanResult:
    """:func:`djstruct.scan.run_scan` on Ray: the same tracks, the same analyses, the same result."""
    t_start = time.perf_counter()
    options = options or RayOptions()
    emit = on_event or (lambda e: None)
    store_path = config.store_path or default_store_path()
    detector = _planning_detector(config)
    folder = Path(options.output) if options.output is not None else output.default_folder(store_path)
    failed: list[tuple[str, str]] = []
    lib_errors: list[str] = []
    warns: list[tuple[str, str]] = []
    grids: dict[str, LibraryGrid] = {}

    def record(e: ScanEvent) -> None:
        if e.kind == "library-error":
            lib_errors.append(e.error)
        emit(e)

    store_path.parent.mkdir(parents=True, exist_ok=True)
    with RunLock.for_store(store_path), Store.open(store_path) as store:
        if folder.is_dir():
            output.remove_partial(folder)
            if n := output.fill_store(folder, store, detector.name, detector.version):
                log.info("%s: %d analyses taken from the Parquet output into the store", folder, n)
        todo, n_entries, up_to_date = plan_tracks(config, store, detector, record, failed, grids)
        n_ok = 0
        if todo:
            writer = output.PartWriter(folder, detector.name, detector.version)
            done, total = 0, len(todo)

            def finish(rows: list[output.OutRow]) -> None:
                nonlocal done, n_ok
                if not rows:
                    return
                writer.write(rows)
                for r in rows:
                    done += 1
                    if r.analysis is not None and r.fp is not None:
                        analysis = Analysis.from_dict(_json(r.analysis))
                        store.put_analysis(Path(r.path), analysis, detector.name, detector.version, r.fp)
                        n_ok += 1
                        check = check_grid(analysis, grids.get(r.path))
                        if check is not None and not check.agrees:
                            warns.append((r.path, check.message()))
                            emit(ScanEvent("warning", r.path, done, total, check.message()))
                        emit(ScanEvent("done", r.path, done, total))
                    else:
                        error = r.error or (f"{r.path}: cannot read the file's size and date" if r.analysis
                                            else "unknown error")
                        store.put_error(Path(r.path), error, r.fp)
                        failed.append((r.path, error))
                        emit(ScanEvent("failed", r.path, done, total, error))

            with _runtime(options.address, config.workers), _data_context():
                paths = [str(p) for p in todo]
                del todo
                lost = _stream(_pipeline(paths, config, detector, options), len(paths), options, finish)
                if lost and len(paths) > MAX_BLOCKS:
                    # their block held other tracks too: those run again, one track a block, so that
                    # only the file whose worker dies every time fails
                    again = [paths[k] for k in lost]
                    lost = [lost[j] for j in _stream(_pipeline(again, config, detector, options), len(again),
                                                     options, finish)]
                finish([output.OutRow(paths[k], None, None, f"{paths[k]}: the Ray worker analysing this file "
                                      f"died ({TASK_RETRIES + 1} tries); a crash in its decoder?") for k in lost])
    return ScanResult(tracks_seen=n_entries, analysed=n_ok, up_to_date=up_to_date, failed=tuple(failed),
                      library_errors=tuple(lib_errors), seconds=time.perf_counter() - t_start,
                      warnings=tuple(warns))


@dataclass(frozen=True)
class _MlPlanning:
    """What the driver needs of the ml detector to plan and to describe its rows: no torch, no
    weights (the actors load them). ``full()`` builds the detector (on the CPU) where the driver
    needs its post-processing settings: for post-processing tasks apart from the actors."""

    options: dict[str, Any]
    version: str
    name: str = "ml"
    sample_rate_hz: int = ANALYSIS_RATE_HZ
    batched: bool = True

    def full(self) -> MlDetector:
        det = get_detector("ml", **{**self.options, "device": "cpu"})
        if not isinstance(det, MlDetector) or det.version != self.version:
            raise DetectorError(None, "the model changed while the scan was planned")
        return det


def _planning_detector(config: ScanConfig) -> Any:
    """The detector as the driver needs it: the ml detector described without torch; any other built."""
    if (config.detector or default_detector_name()) == "ml":
        options = dict(config.detector_options)
        return _MlPlanning(options, ml.model_version(str(options.get("model", "default"))))
    return get_detector(config.detector, **config.detector_options)


def _json(text: str) -> dict[str, Any]:
    return dict(json.loads(text))


@contextlib.contextmanager
def _runtime(address: str | None, workers: int) -> Iterator[None]:
    """Ray connected for the block: to ``address``, else to a local runtime of ``workers`` CPUs
    (started here and shut down after); a runtime already initialised stays as it is."""
    try:
        import ray
    except ImportError as e:
        raise ConfigError(None, "--engine ray needs Ray: pip install 'djstruct[ray]'") from e
    if ray.is_initialized():
        yield
        return
    try:
        if address:
            ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False)
        else:
            # "local": a runtime of its own, never a cluster that `ray start` left on this machine
            ray.init(address="local", num_cpus=max(1, workers), include_dashboard=False,
                     logging_level=logging.WARNING, log_to_driver=False)
    except (ConnectionError, RuntimeError, ValueError) as e:
        raise ConfigError(None, f"cannot start or reach Ray{f' at {address}' if address else ''}: {e}") from e
    try:
        yield
    finally:
        ray.shutdown()


@dataclass(frozen=True)
class ModelPlan:
    """How the model actors run: ``options`` for their :class:`MlDetector`, ``batch_size`` tracks
    per actor call, ``actors`` of them, each on one GPU when ``use_gpu``."""

    options: dict[str, Any]
    batch_size: int
    actors: int
    use_gpu: bool
    fuse_post: bool = False


def model_plan(config: ScanConfig, options: RayOptions, n_gpus: int) -> ModelPlan:
    """The model stage for a cluster with ``n_gpus`` GPUs. On GPUs: one actor per GPU, batches of
    ``batch_size`` (bf16, halved on out-of-memory), as the local pool batches on CUDA. On CPUs: one
    track per forward pass, as the local pool runs it there (padding a batch moves activations by
    ~1e-7, which could flip a peak: the JSON would no longer be the local pool's), with
    ``model_cpus`` torch threads per actor. The device asked for (``--device``) decides, not the
    driver's own: a head node without a GPU still runs the model on its workers' GPUs."""
    use_gpu = n_gpus > 0 and str(config.detector_options.get("device", "auto")) != "cpu"
    model_options = dict(config.detector_options)
    if use_gpu:
        model_options["device"] = "cuda"
        model_options.setdefault("batch_size", config.batch_size)
        batch = max(1, int(model_options["batch_size"]))
    else:
        model_options["device"] = "cpu"
        model_options["batch_size"] = batch = 1
        model_options.setdefault("threads", max(1, math.ceil(options.model_cpus)))
    actors = options.model_actors or (n_gpus if use_gpu else 1)
    return ModelPlan(model_options, batch, max(1, actors), use_gpu, fuse_post=not use_gpu and options.fuse_post)


@contextlib.contextmanager
def _data_context() -> Iterator[None]:
    """Ray Data's settings for the scan's datasets, which take a copy when they are created (so set
    before them): no progress bars (the CLI draws its own) and a block whose task died on every try
    dropped instead of ending the run (its tracks are the ones :func:`_stream` returns)."""
    import ray.data

    ctx = ray.data.DataContext.get_current()
    saved = ctx.enable_progress_bars, ctx.max_errored_blocks
    ctx.enable_progress_bars = False
    ctx.max_errored_blocks = -1
    try:
        yield
    finally:
        ctx.enable_progress_bars, ctx.max_errored_blocks = saved


def _pipeline(todo: list[str], config: ScanConfig, detector: Any, options: RayOptions) -> Any:
    """The lazy Ray Dataset of result rows (see :mod:`djstruct.scan_ray.stages`) for ``todo``; row
    ``i`` is the track ``todo[i]``."""
    import ray
    import ray.data

    batched = bool(getattr(detector, "batched", False))
    name = config.detector or detector.name
    ds = ray.data.from_items([{"i": i, "path": p} for i, p in enumerate(todo)],
                             override_num_blocks=min(len(todo), MAX_BLOCKS))
    # max_retries: Ray retries a task whose worker died, by default forever; a file that crashes its
    # decoder must become a failed row instead. (It also keeps Ray from fusing decoding into the actors.)
    # Ray 2.60 warns that such arguments go in 2.64 without naming a replacement: hence ray<2.64.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*ray_remote_args.*deprecated")
        ds = ds.map(stages.decode_row, num_cpus=options.decode_cpus, max_retries=TASK_RETRIES,
                    fn_kwargs={"detector": name, "options": dict(config.detector_options),
                               "version": detector.version, "sample_rate_hz": detector.sample_rate_hz,
                               "max_duration_s": config.max_duration_s, "batched": batched})
    if not batched:
        return ds
    if not isinstance(detector, _MlPlanning):
        raise DetectorError(None, f"the {name} detector batches, but the Ray engine runs only the ml model in actors")
    plan = model_plan(config, options, int(ray.cluster_resources().get("GPU", 0)))
    ds = ds.map_batches(stages.ModelStage, batch_size=plan.batch_size, batch_format="numpy",
                        compute=ray.data.ActorPoolStrategy(size=plan.actors),
                        fn_constructor_kwargs={"detector": name, "options": plan.options,
                                               "version": detector.version, "post": plan.fuse_post},
                        num_gpus=1 if plan.use_gpu else 0, num_cpus=options.model_cpus)
    if plan.fuse_post:
        return ds
    full = detector.full()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*ray_remote_args.*deprecated")
        return ds.map(stages.post_row, num_cpus=options.post_cpus, max_retries=TASK_RETRIES,
                      fn_kwargs={"name": full.name, "post": full.post, "style": full.style})


def _stream(ds: Any, n: int, options: RayOptions, finish: Callable[[list[output.OutRow]], None]) -> list[int]:
    """Hand the pipeline's rows to ``finish`` as they come, ``part_rows`` at a time or every ``flush_s``
    seconds, each track once (a retried task may yield rows again). Returns the indices (of the ``n``
    tracks) that no row came back for: their task died on every try (a decoder crash)."""
    pending: list[output.OutRow] = []
    seen = bytearray(n)  # one byte a track, not its path
    last = time.monotonic()
    try:
        for batch in ds.iter_batches(batch_size=None, batch_format="numpy", prefetch_batches=0):
            for j in range(len(batch["path"])):
                k = int(batch["i"][j])
                if seen[k]:
                    continue
                seen[k] = 1
                row = {c: batch[c][j] for c in ("path", "size", "mtime_ns", "audio_hash", "analysis", "error")}
                pending.append(output.OutRow(str(row["path"]), stages.row_fingerprint(row),
                                             str(row["analysis"]) or None, str(row["error"]) or None))
            if len(pending) >= options.part_rows or time.monotonic() - last >= options.flush_s:
                finish(pending)
                pending, last = [], time.monotonic()
    except DjstructError:
        raise
    except Exception as e:  # Ray's own failures (a lost cluster, an actor that cannot start)
        finish(pending)
        cause = getattr(e, "cause", None) or e
        if isinstance(cause, DjstructError):
            raise cause from e
        raise DetectorError(None, f"the Ray pipeline failed: {type(cause).__name__}: {cause}") from e
    finish(pending)
    return [k for k in range(n) if not seen[k]]
