"""Tournament keys: hidden markets, commitments, sealed files and redaction.

One implementation for bot tournaments and class play:

* ``new_key`` draws 128 random bits, written as 26 base32 letters and digits
  in groups of five (easy to read out in class).
* ``commitment`` is what may be shown before the key is revealed (SHA-256 of
  the key under its own label): it binds the organiser to the key without
  revealing it.
* ``market_seed(raw, index)`` is the root seed of market ``index`` (SHA-256
  of the key and the index under another label, 63 bits): whoever lacks the
  key cannot make the markets, and whoever has it can check every seed.
* ``seal``/``unseal`` encrypt and authenticate a byte string under a key
  derived from the tournament key (standard library only): a SHAKE-256
  keystream over (label, key, nonce) XORed with the plaintext, then an
  HMAC-SHA256 tag over (nonce, ciphertext) with a second derived key
  (encrypt-then-MAC).  Without the key the ciphertext is as good as random
  bytes; with a wrong key or an edited blob the tag does not match.
* ``redact`` removes the key from text a bot wrote before it is shown
  anywhere, in the forms a bot would print it (as written, any case, with or
  without dashes, base32 and hex of its bytes, base64).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

from .errors import ClassPlayError

_COMMIT_LABEL = b"ccsim class tournament: commitment\x00"
_SEED_LABEL = b"ccsim class tournament: market seed\x00"
_STREAM_LABEL = b"ccsim tournament: sealed keystream\x00"
_TAG_LABEL = b"ccsim tournament: sealed tag\x00"
#: What ``redact`` puts where a secret was.
REDACTED = "[redacted]"


def new_key() -> str:
    """A fresh 128-bit key, as 26 base32 letters and digits in groups (easy to read out)."""
    text = base64.b32encode(secrets.token_bytes(16)).decode("ascii").rstrip("=")
    return "-".join(text[i:i + 5] for i in range(0, len(text), 5))


def parse_key(key: str) -> bytes:
    """The key's 16 bytes; case, spaces and dashes do not matter.

    Raises:
        ClassPlayError: not a key.
    """
    text = "".join(ch for ch in str(key).upper() if ch not in "- \t\r\n")
    try:
        raw = base64.b32decode(text + "=" * (-len(text) % 8))
    except (ValueError, TypeError):
        raw = b""
    if len(raw) != 16:
        raise ClassPlayError("the key is not a tournament key (26 letters and digits, "
                             "e.g. ABCDE-FGHIJ-...)")
    return raw


def format_key(raw: bytes) -> str:
    """The printed form of a raw key (the inverse of ``parse_key``)."""
    text = base64.b32encode(raw).decode("ascii").rstrip("=")
    return "-".join(text[i:i + 5] for i in range(0, len(text), 5))


def commitment(raw_key: bytes) -> str:
    """What may be published before the key: reveals nothing of the key or the seeds."""
    return hashlib.sha256(_COMMIT_LABEL + raw_key).hexdigest()


def market_seed(raw_key: bytes, index: int = 0) -> int:
    """The root seed of market ``index`` (0, 1, ...), derived from the key (63 bits).

    Market 0 is a class tournament's market.
    """
    suffix = b"" if index == 0 else index.to_bytes(8, "big")
    digest = hashlib.sha256(_SEED_LABEL + raw_key + suffix).digest()
    return int.from_bytes(digest[:8], "big") & ((1 << 63) - 1)


def market_seeds(raw_key: bytes, count: int) -> list[int]:
    """The seeds of markets 0 .. count - 1."""
    return [market_seed(raw_key, i) for i in range(count)]


def _keystream(raw_key: bytes, nonce: bytes, size: int) -> bytes:
    return hashlib.shake_256(_STREAM_LABEL + raw_key + nonce).digest(size)


def _xor(data: bytes, stream: bytes) -> bytes:
    return (int.from_bytes(data, "big") ^ int.from_bytes(stream, "big")).to_bytes(len(data), "big")


def _tag(raw_key: bytes, nonce: bytes, ciphertext: bytes) -> str:
    mac_key = hashlib.sha256(_TAG_LABEL + raw_key).digest()
    return hmac.new(mac_key, nonce + ciphertext, hashlib.sha256).hexdigest()


def seal(raw_key: bytes, plaintext: bytes) -> dict:
    """``plaintext`` encrypted and authenticated under the key, as JSON-ready text fields."""
    nonce = secrets.token_bytes(16)
    stream = _keystream(raw_key, nonce, len(plaintext))
    ciphertext = _xor(plaintext, stream)
    return {"nonce": nonce.hex(), "ciphertext": base64.b64encode(ciphertext).decode("ascii"),
            "tag": _tag(raw_key, nonce, ciphertext)}


def unseal(raw_key: bytes, sealed: object, what: str) -> bytes:
    """The plaintext of ``seal``'s output.

    Raises:
        ClassPlayError: ``what`` is malformed, edited, or sealed under another key.
    """
    try:
        nonce = bytes.fromhex(sealed["nonce"])
        ciphertext = base64.b64decode(sealed["ciphertext"], validate=True)
        tag = str(sealed["tag"])
    except (KeyError, TypeError, ValueError):
        raise ClassPlayError(f"{what}: not a sealed entry (nonce, ciphertext, tag)") from None
    if not hmac.compare_digest(tag, _tag(raw_key, nonce, ciphertext)):
        raise ClassPlayError(f"{what}: does not open with this key (edited, or another "
                             "tournament's key)")
    return _xor(ciphertext, _keystream(raw_key, nonce, len(ciphertext)))


def secret_forms(key: str) -> list[str]:
    """The ways a bot might write ``key``: every form ``redact`` removes (case aside)."""
    raw = parse_key(key)
    compact = format_key(raw).replace("-", "")
    forms = {format_key(raw), compact, raw.hex(),
             base64.b32encode(raw).decode("ascii"),
             base64.b64encode(raw).decode("ascii").rstrip("="),
             base64.urlsafe_b64encode(raw).decode("ascii").rstrip("="),
             compact.encode("ascii").hex(), format_key(raw).encode("ascii").hex(),
             base64.b64encode(format_key(raw).encode("ascii")).decode("ascii").rstrip("="),
             base64.b32encode(format_key(raw).encode("ascii")).decode("ascii").rstrip("=")}
    return sorted(forms, key=len, reverse=True)


def redactor(keys) -> "Redactor":
    """A ``Redactor`` for the given keys (``None`` entries are skipped)."""
    return Redactor([form for key in keys if key for form in secret_forms(key)])


class Redactor:
    """Removes secrets from text: each form matched case-insensitively, dashes or spaces optional."""

    def __init__(self, forms: list[str]):
        parts = []
        for form in forms:
            letters = [re.escape(ch) for ch in form if ch not in "-"]
            parts.append(r"[-\s]?".join(letters))
        self._pattern = re.compile("|".join(parts), re.IGNORECASE) if parts else None

    def __call__(self, text):
        """``text`` with every secret replaced by ``[redacted]`` (non-text passes through)."""
        if self._pattern is None or not isinstance(text, str):
            return text
        return self._pattern.sub(REDACTED, text)
