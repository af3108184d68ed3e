"""Logs never carry personal data in clear (lianxin.log_redaction): what a real
handler and formatter write has every ID number and phone masked."""
from __future__ import annotations

import io
import json
import logging
from types import SimpleNamespace

import pytest

from lianxin.log_redaction import RedactingLogRecord, install_log_redaction, redact_text
from lianxin.personal_data import mask_id_number, mask_phone

ID_NUMBER = "11010519491231002X"
OLD_ID_NUMBER = "110105491231002"
PHONE = "13912345678"
FORMAT = "%(levelname)s %(name)s: %(message)s"


@pytest.fixture
def factory_restored():
    before = logging.getLogRecordFactory()
    yield
    logging.setLogRecordFactory(before)


@pytest.fixture
def written(factory_restored):
    """(logger, text written so far): a logger writing through a StreamHandler
    with the deploy's format, in a process where redaction is installed."""
    install_log_redaction()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter(FORMAT))
    log = logging.getLogger("lianxin.test.redaction")
    log.handlers[:] = [handler]
    log.setLevel(logging.DEBUG)
    log.propagate = False
    yield log, stream.getvalue
    log.handlers[:] = []


def test_id_number_in_args_is_masked(written):
    log, text = written
    log.info("registering member %s (%s)", "m1", ID_NUMBER)
    assert text() == f"INFO lianxin.test.redaction: registering member m1 ({mask_id_number(ID_NUMBER)})\n"
    assert ID_NUMBER not in text()


def test_lowercase_x_and_old_15_digit_id_numbers_are_masked(written):
    log, text = written
    log.warning("ids %s %s", ID_NUMBER.lower(), OLD_ID_NUMBER)
    assert ID_NUMBER.lower() not in text() and OLD_ID_NUMBER not in text()
    assert mask_id_number(OLD_ID_NUMBER) in text()


def test_phone_in_an_f_string_message_is_masked(written):
    log, text = written
    log.info(f"member m1 phone {PHONE}, reachable")
    assert text() == f"INFO lianxin.test.redaction: member m1 phone {mask_phone(PHONE)}, reachable\n"


@pytest.mark.parametrize("written_as", ["+8613912345678", "0086 13912345678", "139-1234-5678", "139 1234 5678",
                                        "手机13912345678。", "tel:13912345678"])
def test_phone_in_other_spellings_is_masked(written, written_as):
    log, text = written
    log.info("contact %s", written_as)
    assert "12345678" not in text() and "1234 5678" not in text() and "1234-5678" not in text()
    assert "5678" in text()


def test_exception_message_in_log_exception_is_masked(written):
    log, text = written
    body = json.dumps({"name": "张三", "id_number": ID_NUMBER, "phone": PHONE}, ensure_ascii=False)
    try:
        try:
            raise KeyError(PHONE)
        except KeyError as cause:
            raise ValueError(f"cannot apply body {body}") from cause
    except ValueError:
        log.exception("event %s failed", "e1")
    out = text()
    assert out.startswith("ERROR lianxin.test.redaction: event e1 failed\nTraceback (most recent call last):")
    assert "ValueError: cannot apply body" in out and "KeyError" in out      # the traceback is all there
    assert ID_NUMBER not in out and PHONE not in out
    assert mask_id_number(ID_NUMBER) in out and mask_phone(PHONE) in out


def test_exception_text_is_masked_for_every_handler_of_the_record(factory_restored):
    """The formatter caches the traceback on the record (exc_text) for the
    next handler: what it caches is already masked."""
    install_log_redaction()
    streams = [io.StringIO(), io.StringIO()]
    log = logging.getLogger("lianxin.test.redaction.two")
    log.handlers[:] = [logging.StreamHandler(s) for s in streams]
    log.handlers[1].setFormatter(logging.Formatter("%(message)s"))
    log.propagate = False
    try:
        raise RuntimeError(f"id {ID_NUMBER}")
    except RuntimeError:
        log.error("failed", exc_info=True)
    log.handlers[:] = []
    for stream in streams:
        assert ID_NUMBER not in stream.getvalue() and mask_id_number(ID_NUMBER) in stream.getvalue()


def test_stack_info_is_masked(written):
    log, text = written

    def with_an_id_number_in_its_source_line():
        log.info("here", stack_info=True); "11010519491231002X"  # noqa: B018

    with_an_id_number_in_its_source_line()
    assert "Stack (most recent call last)" in text() and ID_NUMBER not in text()


def test_json_values_are_masked_whatever_they_hold(written):
    log, text = written
    sent = {"id_number": "1101051949123", "phone": "139 1234 567", "other": "11010519491231"}
    log.info("rejected body: %s", json.dumps(sent))
    log.info("command: %s", {"id_number": ID_NUMBER, "phone": None, "name": "张三"})
    log.info("query id_number=%s&phone=%s", "abc12", "1391234")
    out = text().splitlines()
    assert json.loads(out[0].split(": ", 2)[2]) == {
        "id_number": mask_id_number("1101051949123"), "phone": mask_phone("139 1234 567"),
        "other": "11010519491231"}
    assert out[1].endswith(f"{{'id_number': '{mask_id_number(ID_NUMBER)}', 'phone': None, 'name': '张三'}}")
    assert out[2].endswith("query id_number=*****&phone=*******")


def test_a_message_without_personal_data_is_unchanged(written):
    log, text = written
    messages = [
        ("consuming %s (batch %d, prefetch %d)", ("membership.intake", 500, 1000)),
        ("snapshot %s published", ("wgz/2018-06",)),
        ("read model rebuilt from %d events in %.2fs", (1000000, 12.3456)),
        ("no digits at all: 王哥庄街道 港东社区", ()),
        ("event %s at %s", ("0f8fad5b-d9cb-469f-a165-70867728950e", "2018-06-12T09:30:00+08:00")),
    ]
    for msg, args in messages:
        log.info(msg, *args)
    assert text() == "".join(f"INFO lianxin.test.redaction: {msg % args}\n" for msg, args in messages)


@pytest.mark.parametrize("number", [
    "12345678901234567890",         # 20 digits
    "20181231123456",               # a timestamp
    "1544240000123",                # epoch milliseconds
    "1544240000123456",             # epoch microseconds (16 digits)
    "113912345678",                 # a phone inside a longer run
    "139123456789",
    "1391234567",                   # one digit short
    "12912345678",                  # 12x is no mobile prefix
    "3.1391234567812",
])
def test_long_digit_runs_that_are_no_phone_or_id_are_not_mangled(written, number):
    log, text = written
    log.info("value %s", number)
    assert text() == f"INFO lianxin.test.redaction: value {number}\n"


def test_redact_text_fast_path_returns_the_same_object():
    text = "no digits in here, id_number and phone only as words"
    assert redact_text(text) is text
    assert redact_text(None) is None and redact_text("") == ""


def test_install_is_idempotent_and_keeps_another_factory(factory_restored):
    logging.setLogRecordFactory(logging.LogRecord)
    install_log_redaction()
    assert logging.getLogRecordFactory() is RedactingLogRecord
    install_log_redaction()
    assert logging.getLogRecordFactory() is RedactingLogRecord

    def tagging(*args, **kwargs):
        record = logging.LogRecord(*args, **kwargs)
        record.tag = "kept"
        return record

    logging.setLogRecordFactory(tagging)
    install_log_redaction()
    install_log_redaction()
    record = logging.getLogger("x").makeRecord("x", logging.INFO, "f", 1, "phone %s", (PHONE,), None)
    assert record.tag == "kept"
    assert record.getMessage() == f"phone {mask_phone(PHONE)}"


def test_every_service_installs_it_at_setup(factory_restored):
    """ServiceResources (every service with a store) and MetricsEndpoint (the
    gateway) both install redaction when their container sets up."""
    from lianxin.nameko.extensions import MetricsEndpoint, ServiceResources

    logging.setLogRecordFactory(logging.LogRecord)
    MetricsEndpoint().setup()
    assert logging.getLogRecordFactory() is RedactingLogRecord

    logging.setLogRecordFactory(logging.LogRecord)
    resources = ServiceResources()
    resources.container = SimpleNamespace(config={}, service_name="membership")
    resources.setup()
    assert logging.getLogRecordFactory() is RedactingLogRecord
