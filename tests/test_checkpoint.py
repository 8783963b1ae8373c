"""Checkpoints as untrusted input: Module.load checks an .npz archive's directory and
headers against the model before inflating anything, reads no more than the model's
size, raises ValueError naming the file for anything wrong, and changes nothing then."""
from __future__ import annotations

import io
import random
import struct
import zipfile
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import given, strategies as st

from fastgrad import get_data, nn
from programs import fuzz_settings

ZEROS = 200 * 2 ** 20  # the deflated bomb: 200M zero bytes, about 200 KB compressed
BOMB = 16 * 2 ** 20  # one small enough (16 KB compressed) to pass the archive's size check


def _model() -> nn.MLP:
    random.seed(3)
    return nn.MLP(3, [4, 2])


def _npy(array: np.ndarray, version: tuple[int, int] = (1, 0)) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, array, version=version, allow_pickle=True)
    return buf.getvalue()


def _header(descr: str, shape: tuple[int, ...], version: tuple[int, int] = (1, 0)) -> bytes:
    """An .npy header alone, declaring whatever it is told to."""
    buf = io.BytesIO()
    header = {"descr": descr, "fortran_order": False, "shape": shape}
    if version == (1, 0):
        np.lib.format.write_array_header_1_0(buf, header)
    else:
        np.lib.format.write_array_header_2_0(buf, header)
    return buf.getvalue()


def _archive(path: Path, members: dict[str, bytes | Callable[[Any], None]],
             method: int = zipfile.ZIP_STORED) -> Path:
    """A zip of the given members: bytes, or a writer streaming into the member."""
    with zipfile.ZipFile(path, "w", method) as z:
        for name, content in members.items():
            if isinstance(content, bytes):
                z.writestr(name, content)
            else:
                with z.open(name, "w") as f:
                    content(f)
    return path


def _state_members(model: nn.Module, **override: bytes) -> dict[str, bytes]:
    members = {f"{k}.npy": _npy(v) for k, v in model.state_dict().items()}
    members.update({f"{k}.npy": v for k, v in override.items()})
    return members


def _zeros(f: Any, prefix: bytes = b"", size: int = ZEROS) -> None:
    f.write(prefix)
    chunk = bytes(2 ** 20)
    for _ in range(size // len(chunk)):
        f.write(chunk)


def _central_entry(data: bytes, name: str) -> int:
    """Offset of `name`'s central directory entry in the archive bytes `data`."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        at = z.start_dir
    while True:
        (sig,) = struct.unpack_from("<I", data, at)
        assert sig == 0x02014B50, "no such member"
        n, m, k = struct.unpack_from("<HHH", data, at + 28)
        if data[at + 46:at + 46 + n].decode() == name:
            return at
        at += 46 + n + m + k


def _patch(path: Path, name: str, **fields: int) -> None:
    """Rewrite `name`'s flags, compressed or uncompressed size in the central directory
    and its local header, as a hostile writer would."""
    data = bytearray(path.read_bytes())
    central = _central_entry(bytes(data), name)
    (local,) = struct.unpack_from("<I", data, central + 42)
    for field, value in fields.items():
        fmt, c_off, l_off = {"flags": ("<H", 8, 6), "compress_size": ("<I", 20, 18),
                             "file_size": ("<I", 24, 22)}[field]
        struct.pack_into(fmt, data, central + c_off, value)
        struct.pack_into(fmt, data, local + l_off, value)
    path.write_bytes(bytes(data))


@pytest.fixture
def inflated(monkeypatch) -> list[int]:
    """The number of bytes every deflate stream zipfile opens has produced so far."""
    count = [0]
    real = zipfile._get_decompressor

    class Counting:
        def __init__(self, inner: Any) -> None:
            self.inner = inner

        def decompress(self, data: bytes, max_length: int = 0) -> bytes:
            out = self.inner.decompress(data, max_length)
            count[0] += len(out)
            return out

        def flush(self, *args: Any) -> bytes:
            out = self.inner.flush(*args)
            count[0] += len(out)
            return out

        def __getattr__(self, name: str) -> Any:
            return getattr(self.inner, name)

    monkeypatch.setattr(zipfile, "_get_decompressor",
                        lambda method: Counting(real(method)) if method else real(method))
    return count


def _refused(model: nn.Module, path: Path, match: str) -> None:
    before = get_data(model.parameters())
    with pytest.raises(ValueError, match=match) as info:
        model.load(path)
    assert str(path) in str(info.value), "the error names the file"
    assert np.array_equal(get_data(model.parameters()), before)


MODEL_BYTES = 8 * len(_model().parameters())


# -- what is accepted ----------------------------------------------------------------------

@pytest.mark.parametrize("write", [
    lambda p, s: np.savez(p, **s),
    lambda p, s: np.savez_compressed(p, **s),
    lambda p, s: np.savez(p, **{k: v.astype(">f8") for k, v in s.items()}),
    lambda p, s: np.savez(p, **{k: np.asfortranarray(v) for k, v in s.items()}),
    lambda p, s: _archive(p, {f"{k}.npy": _npy(v, (2, 0)) for k, v in s.items()}),
], ids=["savez", "compressed", "big-endian", "fortran", "npy-2.0"])
def test_accepted_archives_load_exactly(tmp_path: Path, write) -> None:
    source, model = _model(), nn.MLP(3, [4, 2])
    state = {k: v * 1.5 + 0.25 for k, v in source.state_dict().items()}
    state["layers.1.bias"][0] = np.nan
    write(tmp_path / "m.npz", state)
    model.load(tmp_path / "m.npz")
    for key, value in model.state_dict().items():
        assert value.dtype == np.float64 and value.dtype.isnative
        assert np.array_equal(value, state[key], equal_nan=True)


def test_a_neuron_round_trips_its_scalar_bias(tmp_path: Path) -> None:
    a, b = nn.Neuron(4), nn.Neuron(4)
    a.b.data = -0.75
    a.save(tmp_path / "n.npz")
    b.load(tmp_path / "n.npz")
    assert np.array_equal(get_data(b.parameters()), get_data(a.parameters()))


# -- what is refused before anything is inflated -------------------------------------------

@pytest.mark.parametrize("zeros, match", [
    (ZEROS, "more than any checkpoint of this model"),  # 200 KB: more than the model's size
    (2 ** 20, r"unexpected keys: \['zeros'\]"),  # 1 KB: refused by its name
])
def test_an_extra_deflated_bomb_is_refused_before_it_inflates(tmp_path: Path, inflated,
                                                              zeros: int, match: str) -> None:
    model = _model()
    path = tmp_path / "bomb.npz"
    model.save(path)
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as z, z.open("zeros.npy", "w") as f:
        _zeros(f, size=zeros)
    inflated[0] = 0
    _refused(model, path, match)
    assert inflated[0] == 0


def test_a_bomb_under_an_expected_name_is_refused_by_its_declared_size(tmp_path: Path,
                                                                      inflated) -> None:
    model = _model()
    members = _state_members(model)
    members["layers.0.bias.npy"] = lambda f: _zeros(f, _header("<f8", (4,)), BOMB)
    path = _archive(tmp_path / "bomb.npz", members, zipfile.ZIP_DEFLATED)
    inflated[0] = 0
    _refused(model, path, "'layers.0.bias' declares .* bytes uncompressed, but its header "
                          "and data take 160")
    assert inflated[0] <= 16 * 1024  # the header's read, not the data


def test_a_bomb_declaring_the_right_size_is_read_no_further(tmp_path: Path, inflated) -> None:
    model = _model()
    members = _state_members(model)
    right = _npy(np.zeros(4))
    members["layers.0.bias.npy"] = lambda f: _zeros(f, right, BOMB)
    path = _archive(tmp_path / "liar.npz", members, zipfile.ZIP_DEFLATED)
    with zipfile.ZipFile(path) as z:
        compressed = z.getinfo("layers.0.bias.npy").compress_size
    _patch(path, "layers.0.bias.npy", file_size=len(right))
    inflated[0] = 0
    with pytest.raises(ValueError, match="inconsistent"):  # far more compressed than needed
        model.load(path)
    _patch(path, "layers.0.bias.npy", compress_size=min(compressed, 1100))
    inflated[0] = 0
    _refused(model, path, "liar.npz")  # the CRC of the declared bytes does not match
    assert inflated[0] <= MODEL_BYTES + 64 * 1024


@pytest.mark.parametrize("header, match", [
    (_header("<f8", (10 ** 13,)), r"shape \(10000000000000,\), expected \(4,\)"),
    (_header("<f8", (2, 2)), r"shape \(2, 2\), expected \(4,\)"),
    (_header("<f4", (4,)) + bytes(16), "dtype float32, expected float64"),
    (_header("<i8", (4,)) + bytes(32), "dtype int64"),
    (_header("|O", (4,)) + bytes(32), "dtype object, .*never loaded"),
    (_header("<c16", (4,)) + bytes(64), "dtype complex128"),
    (_header("[('a', '<f8')]", (4,)) + bytes(32), "dtype"),
    (_header("<f8", (4,)) + bytes(40), "declares 168 bytes uncompressed, but its header and "
                                      "data take 160"),
    (_header("<f8", (4,)) + bytes(24), "declares 152 bytes"),
    (_header("<f8", (4,))[:-1], "'layers.0.bias' has no valid .npy header"),
    (b"\x93NUMPY\x03\x00" + _header("<f8", (4,), (2, 0))[8:] + bytes(32), "format 3.0"),
    (b"\x93NUMPY\x01\x00\xff\xff" + b" " * 70000, "no valid .npy header"),
    (b"\x93NUMPY\x01\x00\x08\x00{'a': 1}" + bytes(32), "no valid .npy header"),
    (b"not numpy" + bytes(200), "no valid .npy header"),
    (b"", "no valid .npy header"),
])
def test_bad_headers_are_refused(tmp_path: Path, header: bytes, match: str) -> None:
    model = _model()
    path = _archive(tmp_path / "m.npz", _state_members(model, **{"layers.0.bias": header}))
    _refused(model, path, match)


def test_a_shape_of_ten_trillion_is_refused_whether_stored_or_deflated(tmp_path: Path,
                                                                        inflated) -> None:
    model = _model()
    members = _state_members(model, **{"layers.0.bias": _header("<f8", (10 ** 13,))})
    for method in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        path = _archive(tmp_path / f"{method}.npz", members, method)
        _refused(model, path, "shape")


@pytest.mark.parametrize("name", ["zip", "method", "encrypted", "duplicate", "key-clash",
                                  "no-suffix", "stored-sizes", "padded"])
def test_bad_directories_are_refused(tmp_path: Path, name: str) -> None:
    model = _model()
    path = tmp_path / "m.npz"
    members = _state_members(model)
    if name == "zip":
        path.write_bytes(b"PK\x03\x04" + bytes(100))
        _refused(model, path, "not an .npz archive")
    elif name == "method":
        _archive(path, members, zipfile.ZIP_BZIP2)
        _refused(model, path, "compression method 12")
    elif name == "encrypted":
        _archive(path, members)
        _patch(path, "layers.1.weight.npy", flags=1)
        _refused(model, path, "'layers.1.weight' is encrypted")
    elif name == "duplicate":
        with pytest.warns(UserWarning, match="Duplicate"):
            _archive(path, members)
            with zipfile.ZipFile(path, "a") as z:
                z.writestr("layers.0.bias.npy", _npy(np.ones(4)))
        _refused(model, path, "duplicate members")
    elif name == "key-clash":
        members["layers.0.bias"] = members["layers.0.bias.npy"]
        _archive(path, members)
        _refused(model, path, "two members for 'layers.0.bias'")
    elif name == "no-suffix":
        members["layers.0.bias"] = members.pop("layers.0.bias.npy")
        _archive(path, members)
        _refused(model, path, "member 'layers.0.bias' is not named 'layers.0.bias.npy'")
    elif name == "stored-sizes":
        _archive(path, members)
        _patch(path, "layers.0.bias.npy", compress_size=100)
        _refused(model, path, "declares 100 compressed bytes for 160 uncompressed")
    elif name == "padded":  # a valid archive behind a megabyte of junk: bigger than any
        np.savez(path, **model.state_dict())
        path.write_bytes(bytes(2 ** 20) + path.read_bytes())
        _refused(model, path, "more than any checkpoint of this model")


def test_a_flipped_byte_in_a_deflate_stream_is_a_value_error(tmp_path: Path) -> None:
    model = _model()
    path = tmp_path / "m.npz"
    np.savez_compressed(path, **model.state_dict())
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as z:
        info = z.getinfo("layers.1.weight.npy")
    n, m = struct.unpack_from("<HH", data, info.header_offset + 26)
    start = info.header_offset + 30 + n + m
    for at in range(start, start + info.compress_size):
        flipped = data.copy()
        flipped[at] ^= 0xFF
        path.write_bytes(bytes(flipped))
        _refused(model, path, "m.npz")


def test_open_errors_stay_os_errors(tmp_path: Path) -> None:
    model = _model()
    with pytest.raises(FileNotFoundError):
        model.load(tmp_path / "missing.npz")
    with pytest.raises(IsADirectoryError):
        model.load(tmp_path)


# -- fuzz: truncations and byte flips either load the saved data or raise ValueError ------

def _saved(compressed: bool) -> tuple[bytes, dict[str, np.ndarray]]:
    model = _model()
    buf = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buf, **model.state_dict())
    return buf.getvalue(), model.state_dict()


_SAVED = {False: _saved(False), True: _saved(True)}


@st.composite
def _mutations(draw: Any) -> tuple[bool, bytes]:
    compressed = draw(st.booleans())
    data = bytearray(_SAVED[compressed][0])
    if draw(st.booleans()):
        data = data[:draw(st.integers(0, len(data) - 1))]
    for _ in range(draw(st.integers(0 if len(data) < len(_SAVED[compressed][0]) else 1, 4))):
        if data:
            data[draw(st.integers(0, len(data) - 1))] ^= draw(st.integers(1, 255))
    return compressed, bytes(data)


@fuzz_settings(300)
@given(_mutations())
def test_fuzzed_checkpoints_load_the_saved_data_or_raise_value_error(
        tmp_path_factory, mutation: tuple[bool, bytes]) -> None:
    compressed, data = mutation
    path = tmp_path_factory.getbasetemp() / "fuzzed.npz"
    path.write_bytes(data)
    model = nn.MLP(3, [4, 2])
    before = get_data(model.parameters())
    try:
        model.load(path)
    except ValueError as exc:
        assert str(path) in str(exc)
        assert np.array_equal(get_data(model.parameters()), before)
    else:
        saved = _SAVED[compressed][1]
        assert all(np.array_equal(v, saved[k]) for k, v in model.state_dict().items())
