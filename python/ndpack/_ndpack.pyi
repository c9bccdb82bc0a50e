"""Type stubs of the extension module ``ndpack._ndpack`` (Rust, PyO3)."""

from typing import Any, List, Literal, Optional, Sequence, Tuple, Union

from typing_extensions import Buffer as _BufferProtocol

__version__: str

def set_nthreads(nthreads: int) -> int:
    """Sets the number of threads of ndpack's pool (0: all cores); returns the previous number."""

def get_nthreads() -> int:
    """The number of threads of ndpack's pool."""

def codec_ids() -> List[str]:
    """The ids of the codecs compiled into the Rust registry, sorted."""

class UnknownCodecError(ValueError, KeyError):
    """No codec is registered under this id."""

class CodecConfigError(ValueError, TypeError):
    """A codec configuration with an unknown key or a bad value."""

class ChecksumError(ValueError, RuntimeError):
    """A stored checksum does not match the data."""

class CorruptInputError(ValueError, RuntimeError):
    """Input that is not valid encoded data, ends early, or declares a size it cannot hold."""

def crc32c(data: _BufferProtocol, value: int = 0) -> int:
    """The CRC-32C of ``data`` continuing from ``value``, the CRC-32C of the bytes before it."""

def zstd_levels() -> Tuple[int, int, int]:
    """libzstd's ``(default, min, max)`` compression levels."""

_Order = Literal["C", "F"]
_Result = Tuple[Any, str, Tuple[int, ...], _Order]
_BytesLike = Union[_BufferProtocol, "Buffer", "NDBuffer"]

class Codec:
    """A codec of the Rust registry, built from its numcodecs configuration (a JSON string)."""

    def __init__(self, config: str) -> None: ...
    @property
    def codec_id(self) -> str: ...
    def config(self) -> str:
        """The numcodecs configuration as a JSON string."""
    def encode(
        self,
        data: _BytesLike,
        dtype: Optional[str] = None,
        shape: Optional[Sequence[int]] = None,
        order: Optional[_Order] = None,
        result: Literal["bytes", "array", "buffer"] = "bytes",
    ) -> _Result:
        """Encodes; returns ``(data, dtype_str, shape, order)``."""
    def decode(
        self,
        data: _BytesLike,
        dtype: Optional[str] = None,
        shape: Optional[Sequence[int]] = None,
        order: Optional[_Order] = None,
        result: Literal["bytes", "array", "buffer"] = "bytes",
    ) -> _Result:
        """Decodes; returns ``(data, dtype_str, shape, order)``."""
    def decode_into(
        self,
        data: _BytesLike,
        out: _BufferProtocol,
        dtype: Optional[str] = None,
        shape: Optional[Sequence[int]] = None,
        order: Optional[_Order] = None,
    ) -> None:
        """Decodes into ``out`` (writable, contiguous, exactly the decoded size)."""

class Buffer:
    """An immutable block of bytes shared without copying (buffer protocol, array interface,
    DLPack)."""

    def __init__(self, obj: Optional[_BytesLike] = None) -> None: ...
    def __len__(self) -> int: ...
    def __buffer__(self, flags: int, /) -> memoryview: ...
    @property
    def nbytes(self) -> int: ...
    def to_bytes(self) -> bytes: ...
    def _slice(self, start: int, stop: int) -> "Buffer": ...
    def _concat(self, other: _BytesLike) -> bytes: ...
    def _bytes_equal(self, other: _BytesLike) -> bool: ...
    @property
    def __array_interface__(self) -> dict: ...
    def __dlpack__(
        self,
        *,
        stream: Any = None,
        max_version: Optional[Tuple[int, int]] = None,
        dl_device: Optional[Tuple[int, int]] = None,
        copy: Optional[bool] = None,
    ) -> Any: ...
    def __dlpack_device__(self) -> Tuple[int, int]: ...

class NDBuffer:
    """An immutable N-d array (dtype, shape, C/F order) over shared bytes."""

    def __init__(
        self, obj: _BytesLike, dtype: str, shape: Sequence[int], order: _Order = "C"
    ) -> None: ...
    @staticmethod
    def _create(
        shape: Sequence[int], dtype: str, order: _Order = "C", fill: Optional[bytes] = None
    ) -> "NDBuffer": ...
    @property
    def _dtype_str(self) -> str: ...
    @property
    def shape(self) -> Tuple[int, ...]: ...
    @property
    def order(self) -> _Order: ...
    @property
    def nbytes(self) -> int: ...
    def _buffer(self) -> Buffer: ...
    def _reshape(self, shape: Sequence[int]) -> "NDBuffer": ...
    def _all_bytes_equal(self, item: bytes) -> bool: ...
    def __len__(self) -> int: ...
    def __buffer__(self, flags: int, /) -> memoryview: ...
    @property
    def __array_interface__(self) -> dict: ...
    def __dlpack__(
        self,
        *,
        stream: Any = None,
        max_version: Optional[Tuple[int, int]] = None,
        dl_device: Optional[Tuple[int, int]] = None,
        copy: Optional[bool] = None,
    ) -> Any: ...
    def __dlpack_device__(self) -> Tuple[int, int]: ...

