"""How a credential is stored and told apart, shared by the services that issue login tokens
and access keys and the selector that looks a presented one up.

Only a credential's SHA-256 is stored; an access key starts with `ACCESS_KEY_PREFIX`, which no
login token does.
"""

from __future__ import annotations

import hashlib

ACCESS_KEY_PREFIX = "vb_"


def hash_secret(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()
