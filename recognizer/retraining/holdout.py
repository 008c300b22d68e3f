"""Which corrections are held out of training, to judge a retrained model."""

from __future__ import annotations

import hashlib


def is_held_out(key: int, *, fraction: float, salt: str = "correction") -> bool:
    """Return whether the item with this key belongs to the held-out share `fraction`.

    A hash decides, so the answer is the same every time and on every
    machine; it is stored on the row once, when the correction is made.
    """
    digest = hashlib.sha256(f"{salt}:{key}".encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32 < fraction
