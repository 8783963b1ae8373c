"""Reading .npz checkpoints as untrusted input: everything checked before anything inflates.

`read_npz(path, shapes)` returns the arrays of an archive that holds exactly the named
arrays, each of its expected shape, or raises ValueError naming the file. The archive's
directory (member names, methods, declared sizes) and each member's .npy header (magic,
version, header dict: dtype, order, shape) are read and checked first; only then is any
array data read, and never more than the declared sizes, which must be exactly the
model's. So a hostile file costs at most about the model's size in time and memory
whatever it declares: a member of 200M deflated zeros is refused by its name or its
declared size, a header declaring shape (10**13,) by its shape, before either is inflated.

What is accepted (what np.savez and np.savez_compressed write for a model's state dict):
- a zip archive no larger than any such archive of this model could be, whose members
  are exactly "<key>.npy" for every expected key, stored or deflated, not encrypted;
- each member an .npy file, format version 1.0 or 2.0, header at most 4096 bytes,
  dtype float64 in either byte order, C or Fortran order, exactly the expected shape,
  and a declared uncompressed size of exactly its header plus its data (no more bytes
  compressed than deflate could need for that size);
- any float64 values, nan and infinities included.
Everything else is refused: other dtypes (even exactly convertible ones; use
load_state_dict for those), pickles (never unpickled), other compression methods,
duplicate or extra members, truncation and corruption (bad CRC, a broken deflate stream).

The error contract: OSError exactly as open() raises it (a missing file, no permission,
a directory); anything about the file's contents is a ValueError whose message starts
with the file's name. zlib.error, BadZipFile, EOFError, MemoryError, OSError from reading
and every other error of a corrupt stream become that ValueError.
"""
from __future__ import annotations

import io
import math
import os
import struct
import zipfile
import zlib
from collections import Counter
from collections.abc import Mapping

import numpy as np

__all__ = ["read_npz"]

_HEADER_MAX = 4096           # bytes of magic, header length and header dict
_MEMBER_OVERHEAD = 1024      # zip local header, central entry, zip64 and other extras
_ARCHIVE_OVERHEAD = 66 * 1024  # end records and an archive comment of up to 64 KiB
_FLOAT64 = ("<f8", ">f8")

# What a corrupt stream can raise from zipfile, zlib and numpy's header parser.
_CORRUPT = (ValueError, EOFError, OSError, MemoryError, OverflowError, NotImplementedError,
            RuntimeError, struct.error, zlib.error, zipfile.BadZipFile)


class _Refused(Exception):
    """A check failed: the reason, to be reported with the file's name."""


def _deflate_bound(size: int) -> int:
    """The most compressed bytes a sane deflate stream of `size` bytes needs (zlib's
    deflateBound, stored blocks included), generously rounded up."""
    return size + (size >> 10) + 1024


def _members(archive: zipfile.ZipFile, shapes: Mapping[str, tuple[int, ...]]
             ) -> dict[str, zipfile.ZipInfo]:
    """The member of each key, from the directory alone; refused unless it names exactly
    the expected keys once each."""
    infos = archive.infolist()
    repeated = sorted(n for n, count in Counter(i.filename for i in infos).items() if count > 1)
    if repeated:
        raise _Refused(f"duplicate members {repeated}")
    keys: dict[str, zipfile.ZipInfo] = {}
    for info in infos:
        key = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
        if key in keys:
            raise _Refused(f"two members for {key!r}")
        keys[key] = info
    missing = [k for k in shapes if k not in keys]
    unexpected = sorted(set(keys) - set(shapes))
    if missing or unexpected:
        raise _Refused(f"the archive does not match the model; missing keys: {missing}, "
                       f"unexpected keys: {unexpected}")
    for key, info in keys.items():
        if info.filename != key + ".npy":
            raise _Refused(f"member {info.filename!r} is not named {key + '.npy'!r}")
    return keys


def _check_member(key: str, info: zipfile.ZipInfo) -> None:
    """Refuse a member whose directory entry alone shows it cannot be read safely."""
    if info.flag_bits & 0x1:
        raise _Refused(f"{key!r} is encrypted")
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise _Refused(f"{key!r} uses compression method {info.compress_type}; "
                       f"only stored and deflated members are read")
    stored = info.compress_type == zipfile.ZIP_STORED
    if (info.compress_size != info.file_size if stored
            else info.compress_size > _deflate_bound(info.file_size)):
        raise _Refused(f"{key!r} declares {info.compress_size} compressed bytes for "
                       f"{info.file_size} uncompressed: inconsistent")


def _header(key: str, prefix: bytes, shape: tuple[int, ...]) -> tuple[int, np.dtype, bool]:
    """(where the data starts, dtype, Fortran order) from a member's first bytes;
    refused unless it is a float64 array of exactly `shape`."""
    fp = io.BytesIO(prefix)
    readers = {(1, 0): np.lib.format.read_array_header_1_0,
               (2, 0): np.lib.format.read_array_header_2_0}
    try:
        version = np.lib.format.read_magic(fp)
        if version in readers:
            got, fortran, dtype = readers[version](fp)
    # numpy parses the header dict with ast.literal_eval and builds a dtype from it: on
    # hostile text either may raise anything, and any error means the header is invalid
    except Exception as exc:  # noqa: BLE001
        raise _Refused(f"{key!r} has no valid .npy header (of at most {_HEADER_MAX} "
                       f"bytes): {type(exc).__name__}: {exc}") from None
    if version not in readers:
        raise _Refused(f"{key!r} is .npy format {version[0]}.{version[1]}, not 1.0 or 2.0")
    if dtype.str not in _FLOAT64:
        raise _Refused(f"{key!r} has dtype {dtype}, expected float64 (pickled objects are "
                       f"never loaded)")
    if got != shape:
        raise _Refused(f"{key!r} has shape {got}, expected {shape}")
    return fp.tell(), dtype, fortran


def _plan(archive: zipfile.ZipFile, shapes: Mapping[str, tuple[int, ...]]
          ) -> list[tuple[str, zipfile.ZipInfo, int, np.dtype, bool]]:
    """Every member checked from its directory entry and header, before any data is read."""
    members = _members(archive, shapes)
    checked = []
    for key, shape in shapes.items():
        info = members[key]
        _check_member(key, info)
        with archive.open(info) as fp:  # inflates at most _HEADER_MAX bytes
            start, dtype, fortran = _header(key, fp.read(min(info.file_size, _HEADER_MAX)),
                                            shape)
        if info.file_size != start + 8 * math.prod(shape):
            raise _Refused(f"{key!r} declares {info.file_size} bytes uncompressed, but its "
                           f"header and data take {start + 8 * math.prod(shape)}")
        checked.append((key, info, start, dtype, fortran))
    return checked


def _read(archive: zipfile.ZipFile, shapes: Mapping[str, tuple[int, ...]]
          ) -> dict[str, np.ndarray]:
    state = {}
    for key, info, start, dtype, fortran in _plan(archive, shapes):
        with archive.open(info) as fp:
            raw = fp.read(info.file_size)  # the CRC is checked on reaching this size
        if len(raw) != info.file_size:
            raise _Refused(f"{key!r} is truncated: {len(raw)} of {info.file_size} bytes")
        a = np.frombuffer(raw, dtype, offset=start).reshape(shapes[key],
                                                           order="F" if fortran else "C")
        state[key] = a.astype(np.float64)  # native byte order, C order, a copy
    return state


def read_npz(path: str | os.PathLike[str],
             shapes: Mapping[str, tuple[int, ...]]) -> dict[str, np.ndarray]:
    """The float64 arrays named in `shapes` (key -> shape) from the .npz archive at
    `path`, which must hold exactly those; ValueError naming the file otherwise (see
    the module's docstring for what is accepted and the error contract)."""
    name = os.fspath(path)
    with open(path, "rb") as f:
        try:
            size = os.fstat(f.fileno()).st_size
            limit = _ARCHIVE_OVERHEAD + sum(8 * math.prod(s) + _HEADER_MAX + _MEMBER_OVERHEAD
                                            + 2 * len(k) for k, s in shapes.items())
            if size > limit:
                raise _Refused(f"{size} bytes, more than any checkpoint of this model "
                               f"({limit} at most)")
            with zipfile.ZipFile(f) as archive:
                return _read(archive, shapes)
        except _Refused as exc:
            raise ValueError(f"{name!r}: {exc}") from None
        except zipfile.BadZipFile as exc:
            raise ValueError(f"{name!r} is not an .npz archive written by save(): "
                             f"{exc}") from None
        except _CORRUPT as exc:
            kind = type(exc).__name__ if type(exc).__module__ == "builtins" else (
                f"{type(exc).__module__}.{type(exc).__qualname__}")  # zlib.error, ...
            raise ValueError(f"{name!r} is corrupt: {kind}: {exc}") from None
