"""The acceptance data set (issue 7): a year of Wanggezhuang, loaded through
HTTP and intake by `scripts/demo2018.py` into every service running as its
own process (as `make run` deploys them), reproduces the source article's
figures exactly, in the summary and in the narrative of the street for 2018.

Slow by nature: the data set is the article's (2,300 members, 23,561 small
deeds, 1,500 cases, 1,900 meetings: ~40,000 events), loaded once for the
module and once more to show that a second load changes nothing. How long
it takes, and why, is in docs/performance.md ("Reports over the 2018 data set").
"""
import json
import time

import pytest
import requests

from lianxin.config import auth_headers

from scripts import demo2018
from tests.support.processes import deployed

STREET, YEAR = {"org_unit_id": "wgz"}, {"from": "2018-01-01", "to": "2018-12-31"}
LOAD_TIMEOUT = 3000

# The article's sentences, as the narrative must tell them (verbatim).
SENTENCES = (
    "“小城论剑”已开展8期，有26个部门负责人和管区书记进行了交流发言",
    "“乡村头雁自讲堂”活动已开展6期，34个党组织书记和4个居委会主任分享了社区工作中的经验和感受",
    "2095名社区党员，共为群众办了23561件小事、实事",
    "已对王哥庄街道34个社区巡查了两轮",
    "涌现出了32个先进集体、43个先进个人，解决了1350件实事难事",
    "积极参与调处化解矛盾纠纷125起",
)


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    """Every service in its own process on a throwaway vhost, the 2018 data set loaded once."""
    logs = tmp_path_factory.mktemp("demo2018-logs")
    with deployed(logs) as (base, amqp_uri):
        lines = []
        started = time.monotonic()
        result = demo2018.seed(base, amqp_uri, progress=lines.append, wait=LOAD_TIMEOUT)
        print(f"\n2018 data set loaded in {time.monotonic() - started:.0f}s\n" + "\n".join(lines))
        yield {"base": base, "amqp": amqp_uri, "result": result, "logs": logs}


def _get(base: str, path: str, **params) -> requests.Response:
    return requests.get(f"{base}/api/v1{path}", params=params, timeout=60, headers=auth_headers())


def _summary(base: str, **params) -> dict:
    response = _get(base, "/reports/summary", **{**STREET, **YEAR, **params})
    assert response.status_code == 200, response.text
    return response.json()


def _narrative(base: str) -> str:
    response = requests.get(f"{base}/api/v1/reports/narrative", params={**STREET, **YEAR},
                            headers={"Accept": "text/plain", **auth_headers()}, timeout=60)
    assert response.status_code == 200, response.text
    return response.text


@pytest.mark.timeout(LOAD_TIMEOUT + 600)
def test_the_tree_is_the_articles(loaded):
    """6 管区 and 34 社区 under them, each community with its Party organisation."""
    base = loaded["base"]
    zones = _get(base, "/org-units/wgz/children").json()
    assert len(zones) == 6 and all(z["level"] == "zone" for z in zones)
    communities = [c for z in zones for c in _get(base, f"/org-units/{z['id']}/children").json()]
    assert len(communities) == 34 and all(c["level"] == "community" for c in communities)
    for community in communities:
        org = _get(base, f"/party-orgs/p-{community['id']}")
        assert org.status_code == 200 and org.json()["kind"] in ("committee", "general_branch", "branch")


@pytest.mark.timeout(600)
def test_the_summary_gives_the_articles_figures(loaded):
    summary = _summary(loaded["base"])
    assert summary["members"]["party_members"] == 2095
    assert summary["members"]["by_stage"]["full"] + summary["members"]["by_stage"]["probationary"] == 2095
    assert summary["deeds"]["total"] == 23561
    assert summary["deeds"]["members_with_deeds"] == 2095
    lectures = {s["series"]: s for s in summary["lecture_series"]}
    assert lectures["小城论剑"]["sessions"] == 8 and lectures["小城论剑"]["speakers"] == 26
    assert set(lectures["小城论剑"]["speakers_by_role"]) == {"department_head", "zone_secretary"}
    assert lectures["乡村头雁自讲堂"]["sessions"] == 6
    assert lectures["乡村头雁自讲堂"]["speakers_by_role"] == {"community_secretary": 34,
                                                           "residents_committee_director": 4}
    assert summary["inspections"]["units_inspected"] == 34 and summary["inspections"]["rounds"] == 2
    assert summary["inspections"]["assessments"] == 68
    assert summary["cases"] == {"difficult_matters_solved": 1350, "disputes_mediated": 125}
    # The street's own honours (小城冲锋号, nominated, publicized and awarded here)...
    assert summary["honours"]["collective"] == 32
    assert summary["honours"]["individual"] == 43
    # ...and, apart from them, the summit honour the city gave the street (by intake).
    assert summary["honours"]["by_category"]["上合组织青岛峰会服务保障工作先进集体"] == 1
    higher = json.dumps(summary["honours"].get("from_higher_bodies"), ensure_ascii=False)
    assert "上合组织青岛峰会服务保障工作先进集体" in higher and "青岛市委、市政府" in higher


@pytest.mark.timeout(600)
def test_the_narrative_tells_the_articles_sentences(loaded):
    text = _narrative(loaded["base"])
    missing = [s for s in SENTENCES if s not in text]
    assert not missing, f"not in the narrative: {missing}\n\n{text}"
    assert "上合组织青岛峰会服务保障工作先进集体" in text and "青岛市委、市政府" in text, text


@pytest.mark.timeout(600)
def test_a_realistic_year_around_the_figures(loaded):
    """三会一课 all year with a few months missed, links, the rest of the year's life."""
    base = loaded["base"]
    summary = _summary(base)
    by_kind = summary["activities"]["by_kind"]
    assert by_kind["theme_day"] > 34 * 11 and by_kind["committee_meeting"] > 34 * 11
    assert by_kind["members_meeting"] >= 34 * 4 and by_kind["party_lesson"] >= 34 * 4 - 2
    assert by_kind["political_birthday"] > 0 and by_kind["lecture"] == 14
    assert summary["household_links"] > 2 * 2095
    assert summary["inspections"]["findings"] > 34 and 0 < summary["inspections"]["rectified"]
    compliance = _get(base, "/obligations", **STREET, **YEAR).json()
    assert compliance["missed"] == loaded["result"]["expected"]["obligations_missed"] > 0
    # Business time: June alone, and a community alone, are parts of the year.
    june = _summary(base, **{"from": "2018-06-01", "to": "2018-06-30"})
    assert 0 < june["deeds"]["total"] < summary["deeds"]["total"]
    community = _summary(base, org_unit_id="wgz-z2-c2")     # 唐家庄社区
    assert 0 < community["members"]["party_members"] < 2095


@pytest.mark.timeout(600)
def test_nothing_was_rejected(loaded):
    answer = _get(loaded["base"], "/rejections").json()
    assert answer["unavailable"] == [], answer
    assert answer["rejections"] == [], answer["rejections"][:5]


@pytest.mark.timeout(LOAD_TIMEOUT + 600)
def test_loading_it_again_changes_nothing(loaded):
    base = loaded["base"]
    before, text = _summary(base), _narrative(base)
    demo2018.seed(base, loaded["amqp"], progress=lambda line: None, wait=LOAD_TIMEOUT)
    assert _summary(base) == before
    assert _narrative(base) == text
    assert _get(base, "/rejections").json()["rejections"] == []
