"""The catering pages over HTTP on both backends: the public QR page shows the registry, the
grades and scores, the devices' status, the chart, open problems and penalties — and nothing
personal; an unknown restaurant is a 404 page; the QR code points at the page's absolute URL;
the signed-in map has one linked circle per located restaurant and filters by band; the
registry, one restaurant's file, the alarms and the problems (queued first) need a session."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from tests.fixtures.service import Api
from tests.modules.catering.helpers import DEPARTMENT, department_id, module_engine
from tests.modules.catering.page_helpers import (
    OIL_FUME,
    plant_alarm,
    plant_device,
    plant_inspection,
    plant_problem,
    plant_readings,
    plant_restaurant,
)

OFFICER = "OFFICER0000000000000000001"
TRANSFERRER = "OFFICER0000000000000000002"


def sign_in(api: Api, dept: str, role: str) -> None:
    api.client.cookies.clear()
    token = api.auth_as(dept, role)["Authorization"].removeprefix("Bearer ")
    api.client.cookies.set("evd_session", token)


def page(api: Api, path: str, status: int = 200) -> str:
    answer = api.client.get(path, follow_redirects=False)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("text/html")
    return answer.text


def plant_scene(api: Api) -> str:
    engine = module_engine(api)
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    today = now.date()
    rid = plant_restaurant(
        engine, 1, name="西湖边<小炒>店", now=now, department_id=department_id(api)
    )
    plant_device(
        engine, rid, "OIL1", "oil_fume", created_at=now - timedelta(days=40), last_frame_at=now
    )
    plant_device(engine, rid, "GAS1", "gas", created_at=now - timedelta(days=40))
    plant_readings(
        engine, "OIL1", [(now - timedelta(minutes=k), OIL_FUME, "Avg", 0.4, "N") for k in range(5)]
    )
    plant_alarm(engine, rid, "GAS1", "offline", now - timedelta(hours=1))
    plant_inspection(
        engine,
        rid,
        (today - timedelta(days=20)).isoformat(),
        [{"item": "冷藏温度超标", "points": 8}],
        score=92,
        grade="优秀",
        officer_id=OFFICER,
    )
    plant_problem(engine, rid, "冷藏温度超标", now - timedelta(days=3))
    plant_problem(
        engine,
        rid,
        "油烟持续超标",
        now - timedelta(days=60),
        state="closed",
        escalation="transferred",
        transferred_by=TRANSFERRER,
        penalty={
            "decision_no": "杭综执罚〔2026〕12号",
            "decided_on": "2026-03-02",
            "amount_yuan": 5000,
        },
    )
    return rid


def test_the_public_page_shows_what_it_should_and_nothing_personal(api: Api) -> None:
    rid = plant_scene(api)
    api.client.cookies.clear()
    html = page(api, f"/catering/r/{rid}")
    assert "西湖边&lt;小炒&gt;店" in html and "西湖边<小炒>店" not in html
    assert "JY00000000000001" in html and "中型（4.0 个基准灶头）" in html
    assert re.search(r'data-testid="dynamic-grade">😀 优秀（大笑）', html)
    assert 'data-testid="yearly-grade">A<' in html
    assert 'data-testid="score-food-safety">92.0<' in html
    assert 'data-testid="score-oil-fume">100.0<' in html  # 5 minutes under the limit
    devices = re.findall(r'data-testid="device">(.*?)</li>', html)
    assert [d.split("：")[0] for d in devices] == ["燃气报警器", "油烟在线监测"]
    assert "<strong>离线</strong>" in devices[0] and "<strong>在线</strong>" in devices[1]
    assert 'data-testid="readings-chart"' in html and 'data-testid="chart-line"' in html
    assert re.findall(r'data-testid="open-problem">([^：]+)', html) == ["冷藏温度超标"]
    assert "杭综执罚〔2026〕12号" in html and "罚款 5000 元" in html
    for personal in (OFFICER, TRANSFERRER, "OIL1", "GAS1", "张明", "dept"):
        assert personal not in html
    assert 'name="csrf"' in html and 'action="/catering/r/' in html
    assert 'data-testid="nav-map"' not in html  # no signed-in navigation


def test_an_unknown_restaurant_is_a_404_page(api: Api) -> None:
    html = page(api, "/catering/r/NOSUCHRESTAURANT", 404)
    assert "没有这家餐饮单位" in html
    assert api.client.get("/catering/r/NOSUCHRESTAURANT/qr.svg").status_code == 404


def test_the_qr_code_points_at_the_public_page(api: Api) -> None:
    rid = plant_scene(api)
    answer = api.client.get(f"/catering/r/{rid}/qr.svg")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "image/svg+xml"
    assert answer.text.startswith("<svg")
    assert f"<title>二维码：http://testserver/catering/r/{rid}</title>" in answer.text


def test_the_map_has_one_circle_per_located_restaurant(api: Api) -> None:
    rid = plant_scene(api)  # an open alarm
    engine = module_engine(api)
    now = datetime.now(UTC)
    plant_restaurant(engine, 2, now=now, lat=30.30, lon=120.20)
    plant_restaurant(engine, 3, now=now, lat=30.22, lon=120.10)
    plant_restaurant(engine, 4, now=now, lat=None, lon=None)
    assert api.client.get("/catering/map", follow_redirects=False).status_code == 303
    sign_in(api, DEPARTMENT, "officer")
    html = page(api, "/catering/map")
    circles = re.findall(
        r'<a href="([^"]+)"><circle cx="([\d.]+)" cy="([\d.]+)" r="6" fill="(#\w+)"', html
    )
    assert len(circles) == 3
    assert {c[0] for c in circles} == {f"/catering/restaurants/R000{n}" for n in (1, 2, 3)}
    fills = {c[0].rsplit("/", 1)[1]: c[3] for c in circles}
    assert fills == {rid: "#c62828", "R0002": "#757575", "R0003": "#757575"}
    assert "另有 1 家未登记经纬度" in html
    assert "告警中（1）" in html and "暂无评分（2）" in html
    only = page(api, "/catering/map?band=alarm")
    assert len(re.findall(r"<circle cx=", only)) == 1 + 6  # one dot, six legend swatches


def test_signed_in_pages_list_restaurants_alarms_and_problems(api: Api) -> None:
    rid = plant_scene(api)
    plant_problem(
        module_engine(api),
        rid,
        "逾期未整改",
        datetime.now(UTC) - timedelta(days=30),
        escalation="queued",
    )
    for path in ("/catering/restaurants", "/catering/alarms", "/catering/problems"):
        assert api.client.get(path, follow_redirects=False).status_code == 303
    sign_in(api, DEPARTMENT, "officer")
    listed = page(api, "/catering/restaurants")
    assert re.search(
        r"西湖边&lt;小炒&gt;店</a></td>\s*<td>[\d.]+</td><td>优秀</td>\s*<td>1</td><td>2</td>",
        listed,
    )
    alarms = page(api, "/catering/alarms")
    assert "监测设备离线" in alarms and "GAS1" in alarms
    problems = page(api, "/catering/problems")
    titles = re.findall(
        r'data-testid="problem-row"><td><a [^>]+>[^<]+</a></td><td>([^<]+)</td>', problems
    )
    assert titles == ["逾期未整改", "冷藏温度超标"]
    assert problems.count('data-testid="queued">待移送') == 1
    file = page(api, f"/catering/restaurants/{rid}")
    assert f'src="/catering/r/{rid}/qr.svg"' in file
    assert 'data-testid="rejected">0<' in file and "冷藏温度超标（−8）" in file
    assert page(api, "/catering/restaurants/NOSUCH", 404)


def test_the_file_moderates_feedback_by_form(api: Api) -> None:
    rid = plant_scene(api)
    api.client.cookies.clear()
    public = page(api, f"/catering/r/{rid}")
    token = re.search(r'name="csrf" value="([^"]+)"', public).group(1)  # type: ignore[union-attr]
    api.client.post(f"/catering/r/{rid}/feedback", data={"csrf": token, "text": "很干净"})
    sign_in(api, DEPARTMENT, "officer")
    file = page(api, f"/catering/restaurants/{rid}")
    action = re.search(r'action="(/catering/restaurants/[^"]+/feedback/[^"]+)"', file).group(1)  # type: ignore[union-attr]
    token = re.search(r'name="csrf" value="([^"]+)"', file).group(1)  # type: ignore[union-attr]
    done = api.client.post(
        action, data={"csrf": token, "decision": "publish"}, follow_redirects=False
    )
    assert done.status_code == 303
    api.client.cookies.clear()
    assert "很干净" in page(api, f"/catering/r/{rid}")
