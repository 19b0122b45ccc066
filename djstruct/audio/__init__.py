"""Audio files: decoding (:mod:`.decode`, :mod:`.backends`), container headers (:mod:`.containers`)
and the re-tag-proof audio fingerprint (:mod:`.fingerprint`)."""

from djstruct.audio.backends import AudioInfo, TooLongError
from djstruct.audio.containers import mp3_has_gapless_header
from djstruct.audio.decode import SUPPORTED_EXTENSIONS, load_audio, probe

__all__ = ["SUPPORTED_EXTENSIONS", "AudioInfo", "TooLongError", "load_audio", "mp3_has_gapless_header", "probe"]
