"""Fixtures of the integration tests: a running system with a small street."""
import pytest


@pytest.fixture
def running(system):
    system.start()
    for body in ({"id": "wgz", "name": "王哥庄街道", "level": "street"},
                 {"id": "za", "name": "第一管区", "level": "zone", "parent_id": "wgz"},
                 {"id": "zb", "name": "第二管区", "level": "zone", "parent_id": "wgz"},
                 {"id": "ca", "name": "唐家庄社区", "level": "community", "parent_id": "za"},
                 {"id": "cb", "name": "港东社区", "level": "community", "parent_id": "zb"}):
        assert system.post("/org-units", body).status_code == 201
    for body in ({"id": "p-wgz", "name": "王哥庄街道党工委", "kind": "working_committee", "org_unit_id": "wgz"},
                 {"id": "p-ca", "name": "唐家庄社区党支部", "kind": "branch", "parent_id": "p-wgz", "org_unit_id": "ca"},
                 {"id": "p-cb", "name": "港东社区党支部", "kind": "branch", "parent_id": "p-wgz", "org_unit_id": "cb"}):
        assert system.post("/party-orgs", body).status_code == 201
    return system
