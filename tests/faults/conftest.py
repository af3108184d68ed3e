import pytest

from tests.support.fault_broker import available, fault_broker


@pytest.fixture(scope="session")
def broker_node():
    """A RabbitMQ node of the fault suite's own, shared by its tests (each takes a fresh vhost)."""
    reason = available()
    if reason:
        pytest.skip(reason)
    with fault_broker() as node:
        yield node
