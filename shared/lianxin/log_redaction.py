"""Log records never carry personal data in clear.

`install_log_redaction()` (called once per process by the nameko extensions
every service has, and by the bench) makes every log record of the process,
whichever logger made it and whichever handler and formatter write it, a
`RedactingLogRecord`:

- its message (`getMessage()`, which every formatter uses) is redacted;
- its exception text (`exc_text`: the formatter stores the formatted
  traceback there before writing it, so `log.exception(...)` with a body in
  the exception message is covered) and its `stack_info` are redacted as
  they are set.

Redaction masks, with `personal_data.mask_id_number` / `mask_phone`: every
resident ID number (18 characters: 17 digits and a digit or X; and the old
15-digit form), every mainland mobile (1[3-9] and 9 digits, also +86/0086
prefixed or split 3-4-4), neither inside a longer run of digits; and the
value of any `id_number` / `phone` key (JSON, a Python dict's repr, key=value),
whatever it holds. Text with no digit is returned as it is (the fast path:
no ID number or phone is written without digits).

Not covered: `record.msg` and `record.args` themselves keep what the caller
passed (a handler that reads them instead of formatting the record, e.g. an
error tracker, must redact on its own), and text written to stderr without
logging (eventlet's hub printing an uncaught greenlet exception).
"""
from __future__ import annotations

import logging
import re

from .personal_data import mask_id_number, mask_phone

_DIGIT = re.compile(r"\d")
# What any match of _NUMBERS contains: 11 or more characters of digits, spaces
# and hyphens (one pass, cheap; the exact pattern runs only where this finds one).
_CANDIDATE = re.compile(r"[+\d][\d \-]{9,}[\dXx]")
_NUMBERS = re.compile(
    r"(?<!\d)(?:"
    r"(?P<id>\d{17}[\dXx]|\d{15})"
    r"|(?P<prefix>(?:\+|00)?86[ -]?)?(?P<phone>1[3-9]\d(?:\d{8}|[ -]\d{4}[ -]\d{4}))"
    r")(?!\d)"
)
_KEYED = re.compile(
    r"""\b(?P<key>id_number|phone)\\*["']?\s*[:=]\s*"""
    r"""(?:\\*(?P<q>["'])(?P<qval>[^"'\\\n]*)|(?P<val>[^\s"'\\,;&}\])]+))"""
)
_NOT_VALUES = {"None", "null", "true", "false", "True", "False"}
_MASKS = {"id_number": mask_id_number, "phone": mask_phone}


def _mask_number(match: re.Match) -> str:
    if match["id"] is not None:
        return mask_id_number(match["id"])
    return (match["prefix"] or "") + mask_phone(match["phone"])


def _mask_keyed(match: re.Match) -> str:
    value = match["qval"] if match["q"] is not None else match["val"]
    if not value or value in _NOT_VALUES:
        return match[0]
    start = match.start("qval" if match["q"] is not None else "val") - match.start()
    # Too short for the usual mask (it keeps 7 characters): all of it.
    masked = _MASKS[match["key"]](value) if len(value) >= 11 else "*" * len(value)
    return match[0][:start] + masked


def redact_text(text):
    """`text` with every ID number and phone masked (see the module's doc);
    anything that is not a non-empty str is returned as it is."""
    if not text or not isinstance(text, str) or _DIGIT.search(text) is None:
        return text
    if _CANDIDATE.search(text) is not None:
        text = _NUMBERS.sub(_mask_number, text)
    if "id_number" in text or "phone" in text:
        text = _KEYED.sub(_mask_keyed, text)
    return text


class _RedactedOnWrite:
    """An attribute whose every assignment is redacted (LogRecord.__init__
    setting it, Formatter.format caching the traceback in it). It defines no
    __get__: reads are plain reads of the instance's __dict__, where the value
    lives under its usual name (so copies and pickles of the record carry it)."""

    def __set_name__(self, owner, name):
        self.name = name

    def __set__(self, record, value):
        record.__dict__[self.name] = redact_text(value) if value else value


class _Redacting:
    """Mixed into a LogRecord class: what formatters read comes out redacted."""

    exc_text = _RedactedOnWrite()
    stack_info = _RedactedOnWrite()

    def getMessage(self) -> str:
        return redact_text(super().getMessage())


class RedactingLogRecord(_Redacting, logging.LogRecord):
    """The record every logger of a Lianxin process makes."""


_subclasses: dict[type, type] = {}


def _redacting_class(cls: type) -> type:
    sub = _subclasses.get(cls)
    if sub is None:
        sub = _subclasses[cls] = type(f"Redacting{cls.__name__}", (_Redacting, cls), {})
    return sub


def _wrap(factory):
    """A record factory someone else installed, its records made redacting."""
    def redacting_factory(*args, **kwargs):
        record = factory(*args, **kwargs)
        if not isinstance(record, _Redacting):
            exc_text, stack_info = record.__dict__.get("exc_text"), record.__dict__.get("stack_info")
            try:
                record.__class__ = _redacting_class(type(record))
            except TypeError:       # a layout we cannot extend: redact the message here and now
                record.msg, record.args = redact_text(record.getMessage()), ()
            else:
                record.exc_text, record.stack_info = exc_text, stack_info
        return record
    redacting_factory.lianxin_redacting = True
    return redacting_factory


def install_log_redaction() -> None:
    """Make every log record of this process redacting; idempotent."""
    current = logging.getLogRecordFactory()
    if current is RedactingLogRecord or getattr(current, "lianxin_redacting", False):
        return
    logging.setLogRecordFactory(RedactingLogRecord if current is logging.LogRecord else _wrap(current))
