"""A minimal ctypes binding of libopenmpt's C API (Debian ``libopenmpt0``), for the tracker benchmark.

Only what ``bench_tracker.py`` needs: load a module from memory, read its metadata, walk its
pattern data, and render it while recording, for every row played, the exact sample at which
that row began (the row-change is observed after each short render block, so a row start is
known to within one block: ``BLOCK_FRAMES`` = 16 frames, 0.36 ms at 44.1 kHz).

libopenmpt 0.6 has no ``get_time_at_position`` (added in 0.8), and rows that are played more
than once (pattern loops, jumps) have no single time anyway, so playback itself is the truth.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np

BLOCK_FRAMES = 16
LIB_NAMES = ("libopenmpt.so.0", "libopenmpt.so")
INSTALL_HINT = "apt-get install libopenmpt0 (Debian/Ubuntu) -- libopenmpt's shared library"

# openmpt_module_set_render_param: 3 = interpolation filter length, 4 = volume ramping strength
RENDER_INTERPOLATIONFILTER_LENGTH = 3
# openmpt_module_get_pattern_row_channel_command: 0 note, 1 instrument, 2 volume effect, 3 effect,
# 4 volume, 5 parameter
CMD_NOTE, CMD_INSTRUMENT, CMD_VOLFX, CMD_EFFECT, CMD_VOLUME, CMD_PARAM = range(6)


class OpenMptError(RuntimeError):
    pass


_lib: ctypes.CDLL | None = None


def lib() -> ctypes.CDLL:
    """Load libopenmpt once; raise OpenMptError with the install command when it is missing."""
    global _lib
    if _lib is not None:
        return _lib
    names = list(LIB_NAMES)
    found = ctypes.util.find_library("openmpt")
    if found:
        names.insert(0, found)
    last: OSError | None = None
    for n in names:
        try:
            L = ctypes.CDLL(n)
            break
        except OSError as e:
            last = e
    else:
        raise OpenMptError(f"libopenmpt not found ({last}); install it: {INSTALL_HINT}")
    vp, i32, dbl, cp = ctypes.c_void_p, ctypes.c_int32, ctypes.c_double, ctypes.c_char_p
    sigs: dict[str, tuple[object, list[object]]] = {
        "openmpt_get_library_version": (ctypes.c_uint32, []),
        "openmpt_module_create_from_memory2": (vp, [vp, ctypes.c_size_t, vp, vp, vp, vp,
                                                    ctypes.POINTER(ctypes.c_int), ctypes.POINTER(cp), vp]),
        "openmpt_module_destroy": (None, [vp]),
        "openmpt_free_string": (None, [vp]),
        "openmpt_module_get_metadata": (vp, [vp, cp]),
        "openmpt_module_ctl_set_text": (ctypes.c_int, [vp, cp, cp]),
        "openmpt_module_set_repeat_count": (ctypes.c_int, [vp, i32]),
        "openmpt_module_set_render_param": (ctypes.c_int, [vp, ctypes.c_int, i32]),
        "openmpt_module_select_subsong": (ctypes.c_int, [vp, i32]),
        "openmpt_module_get_num_subsongs": (i32, [vp]),
        "openmpt_module_get_duration_seconds": (dbl, [vp]),
        "openmpt_module_read_interleaved_float_stereo": (ctypes.c_size_t, [vp, i32, ctypes.c_size_t, vp]),
        "openmpt_module_get_current_order": (i32, [vp]),
        "openmpt_module_get_current_pattern": (i32, [vp]),
        "openmpt_module_get_current_row": (i32, [vp]),
        "openmpt_module_get_current_speed": (i32, [vp]),
        "openmpt_module_get_current_tempo": (i32, [vp]),
        "openmpt_module_get_current_estimated_bpm": (dbl, [vp]),
        "openmpt_module_get_num_channels": (i32, [vp]),
        "openmpt_module_get_num_orders": (i32, [vp]),
        "openmpt_module_get_num_patterns": (i32, [vp]),
        "openmpt_module_get_order_pattern": (i32, [vp, i32]),
        "openmpt_module_get_pattern_num_rows": (i32, [vp, i32]),
        "openmpt_module_get_pattern_row_channel_command": (ctypes.c_uint8, [vp, i32, i32, i32, ctypes.c_int]),
    }
    for name, (res, args) in sigs.items():
        f = getattr(L, name)
        f.restype, f.argtypes = res, args
    _lib = L
    return L


def library_version() -> str:
    v = int(lib().openmpt_get_library_version())
    return f"{v >> 24}.{(v >> 16) & 0xFF}.{v & 0xFFFF}"


@dataclass(frozen=True)
class RowEvent:
    """One row as played: where it began (in output frames) and the playback state on it."""

    frame: int
    order: int
    pattern: int
    row: int
    speed: int
    tempo: int
    estimated_bpm: float


@dataclass(frozen=True)
class Rendering:
    """``audio``: (n, 2) float32 at ``sample_rate_hz``; ``rows``: every row played, in order."""

    audio: np.ndarray
    sample_rate_hz: int
    rows: list[RowEvent]


class Module:
    """A loaded module. Use as a context manager (the C object is freed on exit)."""

    def __init__(self, data: bytes, name: str = "module") -> None:
        L = lib()
        self._buf = ctypes.create_string_buffer(data, len(data))
        err, msg = ctypes.c_int(0), ctypes.c_char_p()
        h = L.openmpt_module_create_from_memory2(self._buf, len(data), None, None, None, None,
                                                 ctypes.byref(err), ctypes.byref(msg), None)
        if not h:
            text = msg.value.decode("utf-8", "replace") if msg.value else f"error {err.value}"
            raise OpenMptError(f"{name}: libopenmpt cannot load it: {text}")
        self._h = ctypes.c_void_p(h)
        self.name = name

    @classmethod
    def from_file(cls, path: Path) -> Module:
        return cls(path.read_bytes(), str(path))

    def __enter__(self) -> Module:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if getattr(self, "_h", None):
            lib().openmpt_module_destroy(self._h)
            self._h = None

    def metadata(self, key: str) -> str:
        p = lib().openmpt_module_get_metadata(self._h, key.encode())
        if not p:
            return ""
        try:
            return ctypes.string_at(p).decode("utf-8", "replace")
        finally:
            lib().openmpt_free_string(p)

    @property
    def n_subsongs(self) -> int:
        return int(lib().openmpt_module_get_num_subsongs(self._h))

    @property
    def n_channels(self) -> int:
        return int(lib().openmpt_module_get_num_channels(self._h))

    @property
    def duration_s(self) -> float:
        return float(lib().openmpt_module_get_duration_seconds(self._h))

    def select_subsong(self, i: int) -> None:
        if not lib().openmpt_module_select_subsong(self._h, i):
            raise OpenMptError(f"{self.name}: cannot select subsong {i}")

    def pattern_rows(self, pattern: int) -> int:
        return int(lib().openmpt_module_get_pattern_num_rows(self._h, pattern))

    def command(self, pattern: int, row: int, channel: int, what: int) -> int:
        return int(lib().openmpt_module_get_pattern_row_channel_command(self._h, pattern, row, channel, what))

    def render(self, sample_rate_hz: int = 44100, max_s: float = 600.0) -> Rendering:
        """Render the selected subsong once (no repeat) and record each row's first frame."""
        L, h = lib(), self._h
        L.openmpt_module_set_repeat_count(h, 0)
        L.openmpt_module_ctl_set_text(h, b"play.at_end", b"stop")
        n_max = int(max_s * sample_rate_hz)
        out = np.zeros((n_max + BLOCK_FRAMES, 2), dtype=np.float32)
        base = out.ctypes.data
        rows: list[RowEvent] = []
        read = L.openmpt_module_read_interleaved_float_stereo
        g_order, g_pat, g_row = L.openmpt_module_get_current_order, L.openmpt_module_get_current_pattern, \
            L.openmpt_module_get_current_row
        last = (-1, -1, -1)
        pos = 0
        while pos < n_max:
            got = read(h, sample_rate_hz, BLOCK_FRAMES, ctypes.c_void_p(base + pos * 8))
            if got == 0:
                break
            key = (g_order(h), g_pat(h), g_row(h))
            # A row revealed after this block began in it: its first frame is in [pos, pos + got).
            # A pattern delay (EEx/SEx) is one long row, as it sounds; a row replayed at once with
            # no other row in between (a one-row loop) is merged too: the beat-steadiness check of
            # the truth step sees either as an over-long beat.
            if key != last:
                rows.append(RowEvent(pos, key[0], key[1], key[2], int(L.openmpt_module_get_current_speed(h)),
                                     int(L.openmpt_module_get_current_tempo(h)),
                                     float(L.openmpt_module_get_current_estimated_bpm(h))))
                last = key
            pos += got
        return Rendering(out[:pos].copy(), sample_rate_hz, rows)
