"""Byte-exact backups of an audio file's metadata, for undo.

A tag writer changes only the bytes around the audio payload (tags, padding, container atoms);
the payload itself stays byte-identical (the writers verify it). So the original file is
``prefix + payload + suffix``: we keep the original prefix and suffix (kilobytes, not the audio)
and, on undo, rebuild the file from them and the current payload, checking the payload's hash
and the rebuilt file's hash. Ogg files are the exception: re-tagging renumbers every later page
(sequence numbers and CRCs change), so for them the whole file is kept.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

from djstruct.audio.fingerprint import audio_payload_range
from djstruct.safe_write import atomic_write_bytes

_WHOLE_FILE_SUFFIXES = (".ogg", ".oga", ".opus")


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def take(path: Path) -> dict[str, Any]:
    """A JSON-able backup of everything in ``path`` except its audio payload."""
    data = path.read_bytes()
    backup: dict[str, Any] = {"size": len(data), "sha256": _sha(data)}
    if path.suffix.lower() in _WHOLE_FILE_SUFFIXES:
        backup["whole"] = base64.b64encode(data).decode()
        return backup
    start, end = audio_payload_range(path)
    backup.update(audio_sha256=_sha(data[start:end]), prefix=base64.b64encode(data[:start]).decode(),
                  suffix=base64.b64encode(data[end:]).decode())
    return backup


def restore(path: Path, backup: dict[str, Any]) -> bool:
    """Rebuild the original file exactly; False (nothing written) when the current file's audio
    payload is not the original one, so the caller can fall back to restoring tag values."""
    if "whole" in backup:
        original = base64.b64decode(backup["whole"])
    else:
        data = path.read_bytes()
        start, end = audio_payload_range(path)
        payload = data[start:end]
        if _sha(payload) != backup["audio_sha256"]:
            return False
        original = base64.b64decode(backup["prefix"]) + payload + base64.b64decode(backup["suffix"])
    if _sha(original) != backup["sha256"]:
        return False
    atomic_write_bytes(path, original)
    return True
