"""The base class of every ndpack codec, shaped like ``numcodecs.abc.Codec``.

When numcodecs is installed, :class:`Codec` subclasses ``numcodecs.abc.Codec``, so zarr accepts
ndpack codecs as compressors and filters. Subclasses set ``codec_id`` and implement ``encode`` and
``decode``; ``get_config`` returns ``{"id": codec_id}`` plus the public instance attributes (as
numcodecs does) unless a subclass overrides it.
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Tuple

try:  # exercised when numcodecs is installed
    from numcodecs.abc import Codec as _NumcodecsCodec
except ImportError:  # pragma: no cover - numcodecs is optional
    _NumcodecsCodec = object

from .. import _ndpack

__all__ = ["Codec"]


class Codec(_NumcodecsCodec):  # type: ignore[misc, valid-type]
    """A numcodecs-compatible codec implemented by ndpack."""

    codec_id: Optional[str] = None

    def encode(self, buf: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def decode(self, buf: Any, out: Any = None) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def get_config(self) -> Dict[str, Any]:
        """The numcodecs configuration: ``{"id": codec_id, **parameters}``."""
        config: Dict[str, Any] = {"id": self.codec_id}
        config.update((k, v) for k, v in self.__dict__.items() if not k.startswith("_"))
        return config

    def _config_of(self, *names: str, dtypes: Tuple[str, ...] = ()) -> Dict[str, Any]:
        """``{"id": codec_id}``, then the attributes ``names``, then the dtype attributes
        ``dtypes`` as their ``str``, in that order."""
        config: Dict[str, Any] = {"id": self.codec_id}
        config.update((name, getattr(self, name)) for name in names)
        config.update((name, getattr(self, name).str) for name in dtypes)
        return config

    def _repr_of(self, *names: str) -> str:
        """``ClassName(name=value, ...)`` with the ``repr`` of the attributes ``names``, in that
        order."""
        params = ", ".join(f"{name}={getattr(self, name)!r}" for name in names)
        return f"{type(self).__name__}({params})"

    @classmethod
    def from_config(cls, config: Dict[str, Any]) -> "Codec":
        """Builds the codec from a configuration as ``get_config`` returns it (``id`` optional)."""
        config = dict(config)
        config.pop("id", None)
        try:
            return cls(**config)
        except TypeError as e:
            msg = str(e)
            if "unexpected keyword argument" in msg or "required positional argument" in msg:
                raise _ndpack.CodecConfigError(f"codec {cls.codec_id}: {msg}") from None
            raise

    def __eq__(self, other: object) -> bool:
        try:
            return self.get_config() == other.get_config()  # type: ignore[attr-defined]
        except AttributeError:
            return NotImplemented

    def __hash__(self) -> int:
        return hash(repr(sorted(self.get_config().items(), key=lambda kv: kv[0])))

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in sorted(self.get_config().items()) if k != "id")
        return f"{type(self).__name__}({params})"
