"""What vsm may write, replace or delete — the one owner of that decision.

vsm writes only where it is told to (or to its documented defaults, relative to the caller's
working directory), and it deletes or replaces only what it wrote itself:

- every path is made absolute once, at the start of a command (:func:`absolute`), against the
  caller's working directory, so that no thread (nor Papermill) can change what it means;
- an output folder is accepted when it does not exist yet, is empty, or is recognised as a
  vsm output of the same kind (a results folder by its manifest, a reports folder by its
  ``rapports.json`` / ``index.html``); a folder that is the working directory or one of its
  parents, a folder that contains the inputs or lies inside one, a file where a folder is
  expected, a path under a file: refused with a French message, before anything is written;
- an output file is refused when it is an existing folder, lies under a file, or is one of
  the inputs; an existing file is replaced only when vsm recognises it as its own;
- a results folder is replaced by stage-then-swap (:func:`staged_folder`): everything,
  manifest included, is written into a hidden sibling folder, which takes the place of the
  previous one in one atomic exchange, last; the previous folder survives until then;
- two runs on the same output are serialised by a lock (:func:`output_lock`): the second one
  stops at once with « une autre exécution écrit déjà dans … »;
- leftovers of an interrupted run (hidden staging folders, ``.tmp`` files), recognised by
  their vsm-specific names, are removed by the next run (:func:`clean_leftovers`).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import glob
import json
import os
import re
import shutil
import tempfile
import threading
import uuid
from pathlib import Path
from typing import Callable, Iterable, Iterator

from .errors import VsmError

STAGING_TAG = ".vsm-staging-"  # .<name>.vsm-staging-<pid>-<hex>: a folder being written
OLD_TAG = ".vsm-old-"  # .<name>.vsm-old-<pid>-<hex>: the previous folder, during a swap
LOCK_TAG = ".vsm-lock"  # .<name>.vsm-lock: held (flock) while a command writes <name>
# beside a file written by atomic_path: .<name>.<random>.tmp
_TMP_FILE = re.compile(r"^\.(?P<name>.+)\.[A-Za-z0-9_]{8}\.tmp$")
# what earlier versions of vsm left behind: .<name>.<random 8> (mkdtemp) and .<name>.old
_LEGACY_STAGING = re.compile(r"^\.(?P<name>.+)\.[A-Za-z0-9_]{8}$")
# what vsm.synth writes beside and inside its output folder while it generates
_SYNTH_STAGING = re.compile(r"^\.(?P<name>.+)\.synth-\d+-[0-9a-f]{8}$")
_SYNTH_OLD_FEEDS = re.compile(r"^\.feeds\.old-[0-9a-f]{8}$")
# the manifest of a folder vsm writes by staging (results: vsm.store, simulations): a folder
# put aside during an interrupted swap is put back only when it holds one
MANIFEST_FILE = "manifest.json"


# --------------------------------------------------------------------------- paths


def absolute(path: Path | str | None) -> Path | None:
    """``path`` made absolute against the working directory, now (``..`` folded, symbolic
    links kept). Called once per path at the start of a command."""
    if path is None:
        return None
    return Path(os.path.normpath(os.path.join(os.getcwd(), os.fspath(path))))


def _real(path: Path) -> Path:
    return Path(os.path.realpath(path))


def _inside(path: Path, folder: Path) -> bool:
    """Whether ``path`` is ``folder`` or lies inside it (symbolic links resolved)."""
    path, folder = _real(path), _real(folder)
    return path == folder or folder in path.parents


def _check_ancestors(path: Path, what: str) -> None:
    """Every existing ancestor of ``path`` must be a folder (« parent is a file » refused)."""
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise VsmError(
                    f"{what} « {path} » impossible : « {parent} » est un fichier, pas un dossier. "
                    "Choisir un autre chemin ; rien n'a été écrit."
                )
            return
        if parent.is_symlink():  # a dangling link on the way
            raise VsmError(f"{what} « {path} » impossible : « {parent} » est un lien vers un chemin absent.")


def _check_inputs(path: Path, inputs: Iterable[Path | str | None], what: str, folder: bool) -> None:
    for given in inputs:
        if given is None:
            continue
        source = absolute(given)
        if _inside(path, source) or (folder and _inside(source, path)):
            relation = (
                "est l'une des entrées" if _real(path) == _real(source)
                else "contient l'entrée" if folder and _inside(source, path)
                else "se trouve dans l'entrée"
            )
            raise VsmError(
                f"{what} « {path} » refusé : il {relation} « {source} », que vsm ne doit ni effacer ni "
                "remplacer. Choisir un dossier de sortie à part ; rien n'a été écrit."
            )


def _check_not_cwd(path: Path, what: str) -> None:
    cwd = Path(os.getcwd())
    if _inside(cwd, path):
        here = "le dossier courant" if _real(path) == _real(cwd) else "un parent du dossier courant"
        raise VsmError(
            f"{what} « {path} » refusé : c'est {here}. Donner un sous-dossier dédié (ex. --out resultats) ; "
            "rien n'a été écrit."
        )


def check_file_output(
    path: Path | str,
    inputs: Iterable[Path | str | None] = (),
    own: Callable[[Path], bool] | None = None,
    what: str = "Fichier de sortie",
) -> Path:
    """``path`` (absolute) if vsm may write a file there, else a French VsmError: an existing
    folder, a path under a file, one of the inputs, or (with ``own``) an existing file that
    vsm does not recognise as its own are refused."""
    path = absolute(path)
    if path.is_dir():
        raise VsmError(f"{what} « {path} » impossible : c'est un dossier existant. Donner un nom de fichier ; rien n'a été écrit.")
    _check_ancestors(path, what)
    _check_inputs(path, inputs, what, folder=False)
    if path.exists() and not path.is_file():
        raise VsmError(f"{what} « {path} » impossible : ce n'est pas un fichier ordinaire.")
    if own is not None and path.is_file() and not own(path):
        raise VsmError(
            f"{what} « {path} » : ce fichier existe et n'a pas été écrit par vsm ; il n'est pas remplacé. "
            "Choisir un autre nom ou le déplacer ; rien n'a été écrit."
        )
    return path


def check_folder_output(
    path: Path | str,
    inputs: Iterable[Path | str | None] = (),
    own: Callable[[Path], bool] | None = None,
    what: str = "Dossier de sortie",
    kind: str = "une sortie de vsm",
) -> Path:
    """``path`` (absolute) if vsm may write that folder: absent, empty, or recognised by
    ``own`` as vsm's. Refused: a file, a path under a file, the working directory or one of
    its parents, a folder containing an input or inside one, a non-empty folder that is not
    ``kind``."""
    path = absolute(path)
    if path.exists() and not path.is_dir():
        raise VsmError(
            f"{what} « {path} » impossible : c'est un fichier existant, pas un dossier. "
            "Donner un autre chemin ; rien n'a été écrit ni déplacé."
        )
    _check_ancestors(path, what)
    _check_not_cwd(path, what)
    _check_inputs(path, inputs, what, folder=True)
    if path.is_dir() and own is not None and any(visible_entries(path)) and not own(path):
        raise VsmError(
            f"{what} « {path} » refusé : ce dossier n'est pas vide et n'est pas {kind} ; vsm n'efface "
            "que ce qu'il a écrit. Donner un dossier absent ou vide ; rien n'a été écrit."
        )
    return path


def visible_entries(folder: Path) -> Iterator[Path]:
    """The entries of ``folder``, except vsm's own leftovers (staging, locks, .tmp)."""
    for entry in folder.iterdir():
        if not is_leftover_name(entry.name):
            yield entry


def is_leftover_name(name: str) -> bool:
    return (
        STAGING_TAG in name or OLD_TAG in name or name.endswith(LOCK_TAG) or bool(_TMP_FILE.match(name))
        or bool(_SYNTH_OLD_FEEDS.match(name))
    )


# --------------------------------------------------------------------------- recognising vsm's outputs


def read_json(path: Path) -> dict | None:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


# --------------------------------------------------------------------------- writing a file atomically


@contextlib.contextmanager
def atomic_path(path: Path | str) -> Iterator[Path]:
    """A temporary path beside ``path``, renamed onto it only if the block succeeds."""
    path = Path(path)
    intact = "Le fichier précédent est intact." if path.exists() else "Aucun fichier n'a été écrit."
    if path.is_dir():
        raise VsmError(f"Écriture impossible : « {path} » est un dossier, pas un fichier. Rien n'a été écrit.")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except (FileExistsError, NotADirectoryError) as exc:
        raise VsmError(f"Écriture impossible dans « {path} » : un élément du chemin est un fichier, pas un dossier.") from exc
    except OSError as exc:
        raise write_error(exc, path, intact) from exc
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        public_mode(tmp_path)
        os.replace(tmp_path, path)
    except BaseException as exc:
        if is_write_failure(exc):
            raise write_error(exc, path, intact) from exc
        raise
    finally:
        if tmp_path.exists():
            with contextlib.suppress(OSError):
                tmp_path.unlink()



# --------------------------------------------------------------------------- errors while writing


def write_error(exc: BaseException, path: Path | str, intact: str = "") -> VsmError:
    """A French VsmError for a failure to write ``path`` (disk full, read-only, denied…)."""
    code = getattr(exc, "errno", None)
    text = str(exc)
    if code == errno.ENOSPC or "No space left" in text:
        reason = "plus de place sur le disque"
    elif code == errno.EROFS or "Read-only file system" in text:
        reason = "système de fichiers en lecture seule"
    elif code in (errno.EACCES, errno.EPERM) or "Permission denied" in text or "Operation not permitted" in text:
        reason = "écriture non autorisée"
    elif code == errno.EDQUOT:
        reason = "quota disque dépassé"
    elif code == errno.ENOENT:
        reason = "dossier introuvable (supprimé pendant l'écriture ?)"
    elif code in (errno.ENOTDIR, errno.EEXIST):
        reason = "un élément du chemin est un fichier, pas un dossier"
    elif code == errno.EISDIR:
        reason = "c'est un dossier, pas un fichier"
    else:
        detail = getattr(exc, "strerror", None) or (text.splitlines()[0] if text else type(exc).__name__)
        reason = f"erreur du système ({detail})"
    suffix = f" {intact}" if intact else ""
    return VsmError(f"Écriture impossible dans « {path} » : {reason}.{suffix}")


def is_write_failure(exc: BaseException) -> bool:
    """An OSError, or DuckDB's / Arrow's error for a failed write."""
    if isinstance(exc, OSError):
        return True
    name = type(exc).__name__
    return name in ("IOException", "ArrowIOError") or (
        type(exc).__module__.startswith(("duckdb", "pyarrow")) and any(
            s in str(exc) for s in ("No space left", "Read-only file system", "Permission denied", "Operation not permitted")
        )
    )


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def public_mode(path: Path) -> None:
    """Give a file or folder made by mkstemp/mkdtemp the usual permissions (umask applied)."""
    os.chmod(path, (0o777 if path.is_dir() else 0o666) & ~_umask())


# --------------------------------------------------------------------------- lock


_HELD: dict[str, int] = {}  # locks this process holds, by lock file
_HELD_GUARD = threading.Lock()


@contextlib.contextmanager
def output_lock(target: Path) -> Iterator[None]:
    """Hold the lock of output ``target`` (a hidden file beside it) while the block runs; a
    second command on the same output stops at once with a French message."""
    target = absolute(target)
    lock = target.parent / f".{target.name}{LOCK_TAG}"
    key = str(lock)
    with _HELD_GUARD:
        if key in _HELD:  # held already by this process (the batch computing its results)
            _HELD[key] += 1
            reentered = True
        else:
            reentered = False
    if reentered:
        try:
            yield
        finally:
            with _HELD_GUARD:
                _HELD[key] -= 1
        return
    while True:
        try:
            lock.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise write_error(exc, target.parent, "Rien n'a été modifié.") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise VsmError(
                f"Une autre exécution écrit déjà dans « {target} » : attendre qu'elle se termine, puis relancer. "
                "Rien n'a été modifié."
            ) from None
        # the file may have been removed by the holder that just released it: lock the one in place
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(lock))
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    with _HELD_GUARD:
        _HELD[key] = 1
    try:
        yield
    finally:
        with _HELD_GUARD:
            del _HELD[key]
        with contextlib.suppress(OSError):
            os.unlink(lock)
        os.close(fd)


# --------------------------------------------------------------------------- leftovers


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            path.unlink()


def _looks_like_results(folder: Path) -> bool:
    """A staging folder of an earlier version (mkdtemp name): only period folders holding
    vsm's result files, and at most a manifest. (The names are those earlier versions wrote,
    kept here as they were; today's layout is vsm.store's.)"""
    names = {"resultats.parquet", "resultats.csv", "professionnels_sans_patientele.csv"}
    for entry in folder.rglob("*"):
        rel = entry.relative_to(folder)
        if entry.is_dir():
            if len(rel.parts) != 1:
                return False
        elif not (rel.as_posix() == "manifest.json" or (len(rel.parts) == 2 and (rel.name in names or _TMP_FILE.match(rel.name)))):
            return False
    return True


def clean_leftovers(target: Path) -> list[Path]:
    """Remove what an interrupted vsm command left beside ``target`` (to be called with the
    lock held): staging folders and ``.tmp`` files named after ``target``; a previous folder
    put aside during a swap is put back when ``target`` is missing. Returns what was removed."""
    target = absolute(target)
    parent = target.parent
    if not parent.is_dir():
        return []
    removed = []
    olds = sorted(parent.glob(f".{glob_escape(target.name)}{OLD_TAG}*"))
    if olds and not target.exists() and (olds[-1] / MANIFEST_FILE).is_file():
        os.replace(olds[-1], target)  # interrupted between the two renames of a swap
        olds = olds[:-1]
    for entry in [*parent.glob(f".{glob_escape(target.name)}{STAGING_TAG}*"), *olds]:
        _remove(entry)
        removed.append(entry)
    for entry in parent.glob(f".{glob_escape(target.name)}.*"):
        name = entry.name
        if entry.is_file() and _TMP_FILE.match(name) and _TMP_FILE.match(name).group("name") == target.name:
            _remove(entry)
            removed.append(entry)
        elif entry.is_dir() and (name == f".{target.name}.old" or _LEGACY_STAGING.match(name)) and _looks_like_results(entry):
            _remove(entry)
            removed.append(entry)
        elif entry.is_dir() and _SYNTH_STAGING.match(name) and _SYNTH_STAGING.match(name).group("name") == target.name:
            _remove(entry)  # vsm.synth's generation folder
            removed.append(entry)
    if target.is_dir():  # vsm.synth's previous feeds/, put aside while the new one moves in
        for entry in target.glob(".feeds.old-*"):
            if _SYNTH_OLD_FEEDS.match(entry.name) and entry.is_dir():
                if not (target / "feeds").exists():
                    os.replace(entry, target / "feeds")
                else:
                    _remove(entry)
                removed.append(entry)
    return removed


def clean_tmp_files(folder: Path) -> list[Path]:
    """Remove vsm's ``.tmp`` files and partial notebooks left anywhere under ``folder``."""
    removed = []
    if not Path(folder).is_dir():
        return removed
    for entry in Path(folder).rglob(".*"):
        if entry.is_file() and (_TMP_FILE.match(entry.name) or entry.name.endswith(".partiel.ipynb")):
            _remove(entry)
            removed.append(entry)
    return removed


def glob_escape(text: str) -> str:
    return glob.escape(text)


# --------------------------------------------------------------------------- stage, then swap


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap ``a`` and ``b`` in one atomic step (Linux renameat2); False where unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), str(b))


def swap_in(staging: Path, target: Path) -> None:
    """Put folder ``staging`` in place of ``target`` — the last step of a write. With an
    existing ``target``: one atomic exchange, then the previous folder (now under the staging
    name) is removed; where the exchange is not supported, two renames (the previous folder
    waits under a hidden name, put back by :func:`clean_leftovers` if interrupted)."""
    if not target.exists():
        os.rename(staging, target)
        return
    if _exchange(staging, target):
        shutil.rmtree(staging, ignore_errors=True)
        return
    old = target.with_name(f".{target.name}{OLD_TAG}{os.getpid()}-{uuid.uuid4().hex[:8]}")
    os.rename(target, old)
    try:
        os.rename(staging, target)
    except BaseException:
        os.rename(old, target)
        raise
    shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def staged_folder(target: Path) -> Iterator[Path]:
    """A new hidden folder beside ``target``, for the block to write everything into; then
    put in place of ``target`` (:func:`swap_in`). On any failure the staging folder is removed
    and ``target`` is left exactly as it was."""
    target = absolute(target)
    intact = "Les résultats précédents sont intacts." if target.exists() else "Rien n'a été écrit."
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = target.with_name(f".{target.name}{STAGING_TAG}{os.getpid()}-{uuid.uuid4().hex[:8]}")
        staging.mkdir()
    except OSError as exc:
        raise write_error(exc, target, intact) from exc
    try:
        yield staging
        public_mode(staging)
        swap_in(staging, target)
    except BaseException as exc:
        cause = exc.__cause__ if isinstance(exc, VsmError) and exc.__cause__ is not None else exc
        if is_write_failure(cause):  # named after the output, not the hidden staging folder
            raise write_error(cause, target, intact) from cause
        raise
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
