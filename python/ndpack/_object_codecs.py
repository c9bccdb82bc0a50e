"""``ndpack._object_codecs`` is :mod:`ndpack.codecs.objects`, the very module (so that
``ndpack._object_codecs.ALLOW_UNSAFE_PICKLE_DECODE = True`` sets the switch ``Pickle`` reads)."""

import sys

from .codecs import objects as _objects

sys.modules[__name__] = _objects
