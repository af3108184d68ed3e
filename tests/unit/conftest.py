import pytest

from tests.support.fakes import NotifyRecorder


@pytest.fixture
def notified():
    return NotifyRecorder()
