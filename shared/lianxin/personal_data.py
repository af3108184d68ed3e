"""Personal data rules: Chinese resident ID numbers, mainland mobiles, masking.

Pure functions, used by schemas (validation) and responses/logs (masking).
"""
from __future__ import annotations

import re

# GB 11643-1999: 17 digits weighted, checksum character from this table.
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_ID_RE = re.compile(r"^\d{17}[\dXx]$")
_MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")


def id_number_problem(value: str) -> str | None:
    """None if `value` is a valid 18-digit resident ID number, else the reason."""
    if not _ID_RE.match(value or ""):
        return "must be 18 characters: 17 digits and a digit or X"
    total = sum(int(d) * w for d, w in zip(value[:17], _WEIGHTS))
    if _CHECK[total % 11] != value[17].upper():
        return "checksum digit is wrong"
    return None


def id_number_check_digit(first17: str) -> str:
    return _CHECK[sum(int(d) * w for d, w in zip(first17, _WEIGHTS)) % 11]


def mobile_problem(value: str) -> str | None:
    if not _MOBILE_RE.match(value or ""):
        return "must be a mainland mobile number: 11 digits starting 13-19"
    return None


def mask_id_number(value: str | None) -> str | None:
    if not value:
        return value
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_phone(value: str | None) -> str | None:
    if not value:
        return value
    return value[:3] + "****" + value[-4:]


class Vault:
    """Encrypts personal data at rest and hashes it for look-ups.

    A stolen database dump shows neither ID numbers nor phones: each is
    stored Fernet-encrypted (AES-128-CBC + HMAC) with a key from
    configuration, beside a keyed HMAC-SHA256 hash that supports equality
    look-ups (e.g. "is this ID number registered?") without decryption.
    """

    def __init__(self, key: str):
        import base64
        import hashlib
        from cryptography.fernet import Fernet

        material = hashlib.sha256(key.encode("utf-8")).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(material))
        self._hash_key = hashlib.sha256(b"lookup:" + material).digest()

    def seal(self, value: str | None) -> str | None:
        return None if value is None else self._fernet.encrypt(value.encode("utf-8")).decode("ascii")

    def open(self, token: str | None) -> str | None:
        return None if token is None else self._fernet.decrypt(token.encode("ascii")).decode("utf-8")

    def lookup_hash(self, value: str | None) -> str | None:
        import hashlib
        import hmac
        if value is None:
            return None
        return hmac.new(self._hash_key, value.upper().encode("utf-8"), hashlib.sha256).hexdigest()


DEV_DATA_KEY = "lianxin-development-key-not-for-production"


PERSONAL_FIELDS = {"id_number": mask_id_number, "phone": mask_phone}


def redact(value):
    """A copy of a JSON value with every ID number and phone masked, at any depth
    (for rejection records, logs and anything else that is not the vault)."""
    if isinstance(value, dict):
        return {k: (PERSONAL_FIELDS[k](v) if k in PERSONAL_FIELDS and isinstance(v, str) else redact(v))
                for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


def redact_json_text(text: str) -> str:
    """The same for a JSON document as text; text that is not JSON is kept only
    as far as it cannot carry a field value (its first 200 characters)."""
    import json
    try:
        return json.dumps(redact(json.loads(text)), ensure_ascii=False)
    except (ValueError, RecursionError):
        return text[:200]
