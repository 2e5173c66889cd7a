"""Writing a user-named output file safely: through a symlink to the regular file it names, never over
a device, a directory or anything else that is not a regular file, and atomically (a temporary file
beside the real target, flushed to disk, then renamed over it: a failure leaves the old file intact)."""
from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

from .errors import UserError


def output_target(path: str | os.PathLike) -> Path:
    """The regular file (existing or new) that writing `path` must replace: a symlink is followed to its
    target; anything else that exists and is not a regular file is refused in one line."""
    given = Path(path)
    target = Path(os.path.realpath(given)) if given.is_symlink() else given
    try:
        mode = target.stat().st_mode
    except FileNotFoundError:
        return target
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(mode):
        kind = "a directory" if stat.S_ISDIR(mode) else "a device or special file"
        raise UserError(f"cannot write {path}: it is {kind}, not a regular file")
    return target


def write_atomically(path: str | os.PathLike, write: Callable[[IO[str]], None]) -> Path:
    """Call `write(fh)` on a temporary text file beside the target, then rename it into place. The new
    file keeps an existing file's permission bits (a new one gets the umask's)."""
    target = output_target(path)
    try:
        mode = stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror or exc}") from None
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
        tmp = None
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
    return target
