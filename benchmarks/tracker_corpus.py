"""Tracker modules from Debian packages: which packages, fetching them, and their licences.

Packages are fetched with ``apt-get download NAME[=VERSION]`` and unpacked with ``dpkg-deb -x``
into a cache folder (never into the repository). The candidates were found by looking, in the
local apt package lists, for games that link a module player (libmikmod, libmodplug, libxmp,
libopenmpt, DUMB) or that were known to ship their music as modules, and listing their files.
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

CACHE_ENV = "DJSTRUCT_BENCH_CACHE"

# Debian 12 packages whose music is (partly) tracker modules. A ".zik" is an XM renamed.
CANDIDATE_PACKAGES: tuple[str, ...] = (
    "ballz-data", "bb", "bomberclone-data", "circuslinux-data", "criticalmass-data", "gweled",
    "madbomber-data", "monsterz-data", "njam-data", "open-invaders-data", "pachi-data", "penguin-command",
    "pingus-data", "powermanga-data", "rafkill-data", "ri-li-data", "solarwolf", "tecnoballz-data",
    "tomatoes-data", "tuxmath-data",
)
MODULE_EXTS = (".mod", ".xm", ".it", ".s3m", ".stm", ".mptm", ".zik")
INSTALL_HINT = "apt-get (Debian/Ubuntu) is needed to fetch the modules: run this on Debian 12 or a derivative"


class CorpusError(RuntimeError):
    pass


def default_cache() -> Path:
    """``$DJSTRUCT_BENCH_CACHE/tracker`` if set, else the user cache dir (``~/.cache/djstruct/bench_tracker``)."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser() / "tracker"
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("djstruct")) / "bench_tracker"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    root: Path  # the unpacked tree

    @property
    def copyright_text(self) -> str:
        for p in (self.root / "usr/share/doc" / self.name / "copyright",
                  *sorted((self.root / "usr/share/doc").glob("*/copyright"))):
            if p.is_file():
                return p.read_text(encoding="utf-8", errors="replace")
        return ""

    def modules(self) -> list[Path]:
        """Module files in the package (by extension and a readable header), sorted."""
        out = []
        for p in sorted(self.root.rglob("*")):
            if p.is_file() and not p.is_symlink() and p.suffix.lower() in MODULE_EXTS and looks_like_module(p):
                out.append(p)
        return out


def looks_like_module(p: Path) -> bool:
    head = p.read_bytes()[:1084]
    if head[:17] == b"Extended Module: " or head[:4] == b"IMPM":
        return True
    if len(head) >= 0x30 and head[0x2C:0x30] == b"SCRM":  # S3M
        return True
    if len(head) >= 0x1C and head[0x14:0x1C].upper() in (b"!SCREAM!", b"BMOD2STM"):  # STM
        return True
    if len(head) >= 1084:
        tag = head[1080:1084]
        return tag in (b"M.K.", b"M!K!", b"FLT4", b"FLT8", b"4CHN", b"6CHN", b"8CHN") or bool(
            re.fullmatch(rb"\d\dCH|\d\dCN", tag))
    return False


def _run(cmd: list[str], cwd: Path | None = None) -> str:
    try:
        r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    except FileNotFoundError as e:
        raise CorpusError(f"{cmd[0]} not found: {INSTALL_HINT}") from e
    if r.returncode != 0:
        raise CorpusError(f"{' '.join(cmd)} failed: {(r.stderr or r.stdout).strip()[-400:]}")
    return r.stdout


def fetch_package(name: str, version: str | None, cache: Path) -> Package:
    """Download ``name`` (pinned to ``version`` when given and still available, else the candidate
    version, with a warning from the caller via the returned version) and unpack it once."""
    debs = cache / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    found = sorted(debs.glob(f"{name}_*.deb"))
    if version:
        want = [d for d in found if _deb_version(d) == version]
        found = want
    if not found:
        try:
            _run(["apt-get", "download", "-q", f"{name}={version}" if version else name], cwd=debs)
        except CorpusError as e:
            if not version:
                raise CorpusError(f"{e}\n(if apt knows no packages, run 'apt-get update' as root first)") from e
            _run(["apt-get", "download", "-q", name], cwd=debs)
        found = sorted(debs.glob(f"{name}_*.deb"))
        if version and any(_deb_version(d) == version for d in found):
            found = [d for d in found if _deb_version(d) == version]
    if not found:
        raise CorpusError(f"apt-get download {name} left no .deb in {debs}")
    deb = found[-1]
    ver = _deb_version(deb)
    root = cache / "extracted" / f"{name}_{ver.replace(':', '%3a')}"
    if not (root / ".complete").exists():
        if root.exists():
            shutil.rmtree(root)
        root.mkdir(parents=True)
        _run(["dpkg-deb", "-x", str(deb), str(root)])
        (root / ".complete").write_text(ver)
    return Package(name, ver, root)


def _deb_version(deb: Path) -> str:
    return _run(["dpkg-deb", "-f", str(deb), "Version"]).strip()


# ----------------------------------------------------------------------------- licences

_GPL = re.compile(r"GNU (Lesser |Library )?General Public License", re.I)


def _suffixes(pat: str) -> list[str]:
    """``data/sounds/*`` -> [``data/sounds/*``, ``sounds/*``]: source-tree prefixes differ from
    installed ones, so a pattern also matches on its last directory and name."""
    parts = pat.split("/")
    return ["/".join(parts[i:]) for i in range(max(1, len(parts) - 1))] if len(parts) > 1 else [pat]


def licence_for(copyright_text: str, installed_path: str) -> str:
    """The licence that a Debian copyright file gives the file at ``installed_path``.

    Machine-readable (DEP-5) files: the last ``Files:`` stanza whose pattern matches the end of
    the path (DEP-5 patterns name source-tree paths: see :func:`_suffixes`), else ``Files: *``.
    Free-form files: the licence named in the text (GPL with its version)."""
    text = copyright_text
    if re.search(r"^Format:\s*\S*copyright-format|^Format:.*dep5", text, re.M | re.I):
        best = None
        for stanza in re.split(r"\n\s*\n", text):
            m = re.search(r"^Files:(.*(?:\n[ \t]+.*)*)", stanza, re.M)
            lic = re.search(r"^License:[ \t]*(.*)((?:\n[ \t]+.*)*)", stanza, re.M)
            if not m or not lic:
                continue
            pats = m.group(1).split()
            name = lic.group(1).strip() or next((ln.strip() for ln in lic.group(2).splitlines() if ln.strip()), "")
            for pat in pats:
                pat = pat.lstrip("/")
                if pat == "*":
                    best = best or name
                elif any(fnmatch.fnmatch("/" + installed_path, "*/" + q) for q in _suffixes(pat)):
                    best = name
        if best:
            return best
    m = _GPL.search(text)
    if m:
        kind = "LGPL" if m.group(1) else "GPL"
        v = re.search(r"either version (\d(?:\.\d)?)", text[m.start():m.start() + 600])
        v2 = re.search(r"version (\d(?:\.\d)?)", text[m.start():m.start() + 600])
        if v:
            return f"{kind}-{v.group(1)}+"
        return f"{kind}-{v2.group(1)}" if v2 else kind
    return "see copyright file"
