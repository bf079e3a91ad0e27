"""Item IDs: an alphabet that maps each ID to its own file name and URL path, one to one.

An ID names the item's page (``/items/<ID>``) and, by convention, its evidence file
(``attestations/<ID>.yaml``). ``S/001`` would break the page's link, and ``S 001``, ``S:001``
and ``S/001`` would all become one file name once made safe; so IDs are restricted at load to
letters, digits, ``-``, ``_`` and ``.``, starting with a letter or digit.
"""

from __future__ import annotations

import re
import unicodedata

MAX_LENGTH = 100  # a file name holds 255 bytes; checklists use IDs such as S-001
_ID = re.compile(rf"[A-Za-z0-9][A-Za-z0-9._-]{{0,{MAX_LENGTH - 1}}}")
RULE = f'letters, digits, "-", "_" and ".", starting with a letter or digit, up to {MAX_LENGTH}'


def is_valid(item_id: str) -> bool:
    """Whether ``item_id`` is in the ID alphabet."""
    return _ID.fullmatch(item_id) is not None


def nearest(text: str) -> str:
    """An ID in the alphabet close to ``text`` (``S/001`` -> ``S_001``, ``Ü-1`` -> ``U-1``).

    Different texts can give the same ID: whoever uses this must check for collisions.
    Empty when nothing of ``text`` is left.
    """
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z0-9._-]+", "_", ascii_text).lstrip("._-")[:MAX_LENGTH]
