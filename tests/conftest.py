import os

import pytest
from hypothesis import settings

from tests.support.broker import Vhost
from tests.support.system import ADMIN_TOKEN, System

# Processes the tests start (`make run`'s services) and the scripts they drive
# (the demo seeders) authenticate as the bootstrap admin, as an operator would.
os.environ.setdefault("LIANXIN_ADMIN_TOKEN", ADMIN_TOKEN)

# Property-based tests (the fuzz tests): reproducible and bounded by default.
# `lianxin`: a fixed sequence of examples (derandomize), no example database,
# no per-example deadline (a slow VM is not a bug); the budgets in the tests
# are for this profile. HYPOTHESIS_PROFILE=deep: ten times the examples, random
# (a new sequence each run), for hunting on purpose rather than in `make test`.
settings.register_profile("lianxin", derandomize=True, database=None, deadline=None, max_examples=100,
                          print_blob=True)
settings.register_profile("deep", parent=settings.get_profile("lianxin"), derandomize=False, max_examples=1000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "lianxin"))


def budget(examples: int) -> int:
    """A test's number of examples under the loaded profile (its own figure under `lianxin`)."""
    return max(1, examples * settings.default.max_examples // 100)


@pytest.fixture
def vhost():
    with Vhost() as v:
        yield v


@pytest.fixture
def system(vhost):
    system = System(vhost.uri)
    yield system
    system.stop_all()
