"""The Ray engine's model stage without Ray: how the actors are planned, and that on a CPU they
give the local pool's activations bit for bit (so the same analysis JSON)."""

from __future__ import annotations

import numpy as np

from djstruct.library import LibrarySource
from djstruct.scan import ScanConfig
from djstruct.scan_ray.driver import RayOptions, model_plan
from djstruct.scan_ray.stages import ModelStage, post_row, unpack


def _config(**options: object) -> ScanConfig:
    return ScanConfig((LibrarySource("folder", "."),), None, "ml", dict(options), workers=2, batch_size=16)


def test_model_plan_gpu_cpu_and_explicit_device() -> None:
    gpu = model_plan(_config(), RayOptions(), n_gpus=3)
    assert (gpu.use_gpu, gpu.actors, gpu.batch_size, gpu.options["device"]) == (True, 3, 16, "cuda")
    assert model_plan(_config(batch_size=64), RayOptions(model_actors=2), 3).batch_size == 64
    assert model_plan(_config(batch_size=64), RayOptions(model_actors=2), 3).actors == 2
    cpu = model_plan(_config(batch_size=64), RayOptions(model_cpus=2), n_gpus=0)
    # on a CPU one track per forward pass, whatever --batch-size says (as the local pool)
    assert (cpu.use_gpu, cpu.actors, cpu.batch_size, cpu.options) == (
        False, 1, 1, {"device": "cpu", "batch_size": 1, "threads": 2})
    forced = model_plan(_config(device="cpu"), RayOptions(), n_gpus=4)  # --device cpu on a GPU cluster
    assert (forced.use_gpu, forced.batch_size, forced.options["device"]) == (False, 1, "cpu")
    # post-processing in the actor on CPUs only (a GPU actor hands it to CPU tasks)
    assert (cpu.fuse_post, gpu.fuse_post) == (True, False)
    assert not model_plan(_config(), RayOptions(fuse_post=False), 0).fuse_post


def test_model_stage_on_cpu_matches_one_track_at_a_time() -> None:
    from djstruct.detect.ml import MlDetector

    rng = np.random.default_rng(0)
    waves = [(0.1 * rng.standard_normal(n)).astype(np.float32) for n in (22050 * 7, 22050 * 12, 22050 * 9)]
    det = MlDetector("default", device="cpu", batch_size=1, threads=1)
    plan = model_plan(_config(), RayOptions(), n_gpus=0)
    stage = ModelStage("ml", plan.options, det.version)

    def objects(values: list[object]) -> np.ndarray:
        a = np.empty(len(values), dtype=object)
        a[:] = values
        return a

    def batch() -> dict[str, np.ndarray]:
        return {"path": objects(["a", "b", "c"]), "wave": objects([w.tobytes() for w in waves]),
                "error": objects(["", "", ""]), "act": objects([b"", b"", b""]), "analysis": objects(["", "", ""]),
                "duration_s": np.array([len(w) / 22050 for w in waves])}

    out = stage(batch())
    for wave, packed in zip(waves, out["act"], strict=True):
        want = det.activations([wave])[0]
        got = unpack(packed)
        assert set(got) == set(want)
        for k in want:
            assert np.array_equal(got[k], want[k]), k  # bit for bit: no padding against a longer track

    # post-processing in the actor gives what the separate post-processing task gives
    fused = ModelStage("ml", plan.options, det.version, post=True)(batch())
    assert "act" not in fused and "wave" not in fused
    for i in range(3):
        row = post_row({k: v[i] for k, v in out.items()}, name=det.name, post=det.post, style=det.style)
        assert row["error"] == "" and row["analysis"] and fused["analysis"][i] == row["analysis"]
