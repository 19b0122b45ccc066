"""``djstruct scan --engine ray``: the batch scan on a Ray cluster (the optional extra ``djstruct[ray]``).

The same track list, fingerprints and per-track work as :mod:`djstruct.scan`, as a Ray Data
pipeline (decoding in CPU tasks, the model in an actor pool, post-processing in CPU tasks), with
every result written to a Parquet dataset and the analysis store (see :mod:`.driver`). Ray itself
is imported only when a scan runs.
"""

from djstruct.scan_ray.driver import RayOptions, run_scan_ray

__all__ = ["RayOptions", "run_scan_ray"]
