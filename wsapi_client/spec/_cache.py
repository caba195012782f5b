"""A cache of loaded model files, so that many clients of one ``api.json`` share one
:class:`ApiSpec` (and its compiled validators). Its lock guards only the cache dictionary."""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Mapping
from typing import Any, Optional, Union

from wsapi_client.spec._loader import load_spec
from wsapi_client.spec._model import ApiSpec

__all__ = ["load_spec_file", "resolve_spec"]

_SIZE = 32
_cache: dict[str, tuple[tuple[int, int, int], ApiSpec]] = {}
_lock = threading.Lock()


def load_spec_file(source: Union[str, os.PathLike[str]]) -> ApiSpec:
    """``load_spec(source)``, shared by every client given the same file while it is unchanged.

    The file is looked at again (``stat``) for every client; a changed modification time, size
    or inode loads it again. JSON text and anything that is not a regular file are loaded each
    time.
    """
    try:
        path = os.path.realpath(source)
        info = os.stat(path)
    except (OSError, ValueError):  # JSON text, or no such file: load_spec says what is wrong
        return load_spec(source)
    if not stat.S_ISREG(info.st_mode):
        return load_spec(source)
    stamp = (info.st_mtime_ns, info.st_size, info.st_ino)
    with _lock:
        cached = _cache.get(path)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    spec = load_spec(source)
    with _lock:
        _cache.pop(path, None)
        if len(_cache) >= _SIZE:
            _cache.pop(next(iter(_cache)))
        _cache[path] = (stamp, spec)
    return spec


_class_specs: dict[type, ApiSpec] = {}


def resolve_spec(cls: type, spec: Any) -> Optional[ApiSpec]:
    """The model a client of class ``cls`` uses: ``spec`` as given (an :class:`ApiSpec`, a path
    or JSON text, a mapping), else the class's embedded ``spec_document`` (generated clients),
    loaded once per class."""
    if isinstance(spec, ApiSpec):
        return spec
    if isinstance(spec, (str, os.PathLike)):
        return load_spec_file(spec)
    if spec is not None:
        return load_spec(spec)
    document: Optional[Mapping[str, Any]] = getattr(cls, "spec_document", None)
    if document is None:
        return None
    with _lock:
        cached = _class_specs.get(cls)
    if cached is None:
        cached = load_spec(document, name=cls.__name__)
        with _lock:
            _class_specs[cls] = cached
    return cached
