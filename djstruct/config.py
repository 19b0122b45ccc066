"""Where djstruct keeps things, and the user's defaults for command-line options.

Paths (each: an environment variable, else the platform's user directory via ``platformdirs``):

========================  ========================  ==============================================
what                      environment variable      default (Linux)
========================  ========================  ==============================================
analysis store + journal  ``DJSTRUCT_STORE``        ``~/.local/share/djstruct/store.sqlite``
trained models            ``DJSTRUCT_MODEL_DIR``    ``~/.local/share/djstruct/models``
training feature cache    ``DJSTRUCT_CACHE_DIR``    ``~/.cache/djstruct/features``
reviewed-tracks file      ``DJSTRUCT_REVIEW_FILE``  ``~/.local/share/djstruct/reviewed.json``
config file               ``DJSTRUCT_CONFIG``       ``~/.config/djstruct/config.toml``
========================  ========================  ==============================================

Option defaults are layered: built-in defaults < the config file < the command line. The config file
is TOML with one table per command, keys named like the long options (``-`` or ``_``)::

    [scan]
    workers = 1
    [writeback]
    layout = "drops"
    policy = "replace-own"

A bad config file is a :class:`~djstruct.errors.ConfigError` naming the file.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from djstruct.errors import ConfigError

APP = "djstruct"
STORE_ENV = "DJSTRUCT_STORE"
MODEL_DIR_ENV = "DJSTRUCT_MODEL_DIR"
CACHE_DIR_ENV = "DJSTRUCT_CACHE_DIR"
REVIEW_FILE_ENV = "DJSTRUCT_REVIEW_FILE"
CONFIG_ENV = "DJSTRUCT_CONFIG"


def _env_path(var: str) -> Path | None:
    value = os.environ.get(var)
    return Path(value).expanduser() if value else None


def _data_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir(APP))


def store_path() -> Path:
    """The analysis store (SQLite; it also holds the writeback journal)."""
    return _env_path(STORE_ENV) or _data_dir() / "store.sqlite"


def models_dir() -> Path:
    """Where ``djstruct train`` writes models and ``--model NAME`` finds them."""
    return _env_path(MODEL_DIR_ENV) or _data_dir() / "models"


def feature_cache_dir() -> Path:
    """Cached training features (log-mel + targets per track)."""
    env = _env_path(CACHE_DIR_ENV)
    if env is not None:
        return env / "features"
    import platformdirs

    return Path(platformdirs.user_cache_dir(APP)) / "features"


def review_file() -> Path:
    """The tracks whose cues the DJ checked (``djstruct labels review``)."""
    return _env_path(REVIEW_FILE_ENV) or _data_dir() / "reviewed.json"


def config_file() -> Path:
    """The user's config file (it need not exist)."""
    env = _env_path(CONFIG_ENV)
    if env is not None:
        return env
    import platformdirs

    return Path(platformdirs.user_config_dir(APP)) / "config.toml"


def load_option_defaults(path: Path | None = None) -> dict[str, dict[str, Any]]:
    """``{command: {option_name: value}}`` from the config file (empty when there is none), with
    option names as click's parameter names (``batch-size`` -> ``batch_size``)."""
    path = path or config_file()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(path, f"cannot read the config file: {e}") from e
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(path, f"not valid TOML: {e}") from e
    out: dict[str, dict[str, Any]] = {}
    for command, table in data.items():
        if not isinstance(table, dict):
            raise ConfigError(path, f"[{command}] must be a table of option = value lines")
        out[command] = {str(k).replace("-", "_"): v for k, v in table.items()}
    return out
