import pytest

from tests.support.broker import Vhost
from tests.support.system import System


@pytest.fixture
def vhost():
    with Vhost() as v:
        yield v


@pytest.fixture
def system(vhost):
    system = System(vhost.uri)
    yield system
    system.stop_all()
