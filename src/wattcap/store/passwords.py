"""Station passwords (OCPP security profiles 1 and 2, HTTP Basic auth) as salted scrypt hashes.

Only the hash is stored: a leaked database must not let anyone impersonate a charger. The encoded form names
its parameters (``scrypt$n$r$p$salt$hash``) so they can be raised later without invalidating stored hashes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

_N, _R, _P = 2**14, 8, 1  # ~16 MiB, tens of ms: fine once per connection, costly for a brute force
_SALT_BYTES = 16
_KEY_BYTES = 32
_MAX_MEM = 64 * 1024 * 1024


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=_MAX_MEM, dklen=_KEY_BYTES)


def hash_password(password: str) -> str:
    """A new salted hash of ``password`` in the self-describing encoded form."""
    if not isinstance(password, str) or not password:
        raise ValueError("a station password must be a non-empty string")
    salt = os.urandom(_SALT_BYTES)
    return f"scrypt${_N}${_R}${_P}${_b64(salt)}${_b64(_scrypt(password, salt, _N, _R, _P))}"


# Checked against when there is no stored hash, so an unknown station costs as much time as a known one.
_DUMMY_HASH = f"scrypt${_N}${_R}${_P}${_b64(b'0' * _SALT_BYTES)}${_b64(b'0' * _KEY_BYTES)}"


def check_password(password: str, encoded: str | None) -> bool:
    """Whether ``password`` matches ``encoded``, in time independent of where they differ.

    ``encoded`` None (no such station, or no password set) still runs a full hash and returns False.
    """
    stored = encoded or _DUMMY_HASH
    valid_input = isinstance(password, str)
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            raise ValueError(scheme)
        candidate = _scrypt(password if valid_input else "", base64.b64decode(salt), int(n), int(r), int(p))
        expected = base64.b64decode(digest)
    except ValueError:
        return False
    return hmac.compare_digest(candidate, expected) and encoded is not None and valid_input
