"""What a username may be, and the one folding that makes two spellings the same username.

Sign-in takes no customer, so a username names one live agent across all customers,
whatever its case. "Whatever its case" must mean one thing everywhere: the unique index, the
check before a create, sign-in, the login throttle and the list filter all compare
`username_key`, the username in NFKC with Unicode case folding applied (then NFKC again, as
folding can undo it, and the dotless i as i). Databases fold case in their own ways
(PostgreSQL's `upper('\u0131')` is `I` but `lower('\u0131')` is `\u0131`, the dotless i), so
the key is computed here, once, and stored.

A username is visible text: no whitespace anywhere, no control or format characters (a
trailing newline, a zero-width space, a soft hyphen, a BOM would make two agents look the
same), no unassigned code points (their case folding could change with a Unicode update),
no private-use or surrogate code points.
"""

from __future__ import annotations

import unicodedata

USERNAME_MAX_LENGTH = 255

#: Unicode general categories a username may not contain: Cc control, Cf format, Cs surrogate,
#: Co private use, Cn unassigned, and the separators Zs, Zl, Zp.
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp"})

#: What the API documents and every door says when a username is refused.
USERNAME_RULE = (
    f"must be 1 to {USERNAME_MAX_LENGTH} visible characters: no spaces, no control, format "
    "or unassigned characters"
)


def fold_username(username: str) -> str:
    """The key two spellings of one username share: NFKC, case folded, NFKC again, and the
    dotless i as i (case folding keeps it apart, but it is the same letter in upper case, and
    `x\u0131` beside `xi` is two agents that look alike)."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", username).casefold())
    return folded.replace("\u0131", "i")


def is_valid_username(value: object) -> bool:
    """The whole string is checked (no regex `$` that stops before a trailing newline)."""
    if not isinstance(value, str) or not 1 <= len(value) <= USERNAME_MAX_LENGTH:
        return False
    if any(char.isspace() or unicodedata.category(char) in _REFUSED_CATEGORIES for char in value):
        return False
    # Compatibility characters can grow when folded (one ligature becomes up to 18 characters):
    # the key must fit its column too.
    return len(fold_username(value)) <= USERNAME_MAX_LENGTH
