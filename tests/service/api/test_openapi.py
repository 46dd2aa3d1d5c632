"""The OpenAPI document: every operation documents its success answer (a typed JSON schema, a
file's content type, or 204 without a body), its problem+json errors (401 wherever a token is
needed, 404 wherever a path names a record), and the documented schemas match what the routes
really answer (checked with jsonschema against live answers of a service anchoring on its
embedded chain)."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from typing import Any

import httpx
import jsonschema
import pytest

from evidence_service.api.policy import RESOLVERS, rule_for
from evidence_service.api.responses import PROBLEM_JSON, PROBLEM_REF
from tests import samples
from tests.fixtures.service import Api, running_api
from tests.service.anchoring_helpers import anchored_services, wait_anchored
from tests.service.helpers import upload

BACKEND = "sqlite-local-embedded"
A, COURT = "HZ-SCJG", "HZ-XHFY"
METHODS = {"get", "put", "post", "patch", "delete", "head", "options"}


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[Api]:
    services = anchored_services(tmp_path_factory.mktemp("openapi"), request, BACKEND)
    try:
        with running_api(services, BACKEND) as running:
            yield running
    finally:
        services.close()


@pytest.fixture(scope="module")
def spec(api: Api) -> dict[str, Any]:
    response = api.client.get("/openapi.json")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield method, path, operation


def typed(schema: Any) -> bool:
    """A schema that says something: a $ref, a type, or a union of such."""
    if not isinstance(schema, dict):
        return False
    if "$ref" in schema or "type" in schema:
        return True
    union = schema.get("anyOf") or schema.get("oneOf")
    return bool(union) and all(typed(s) for s in union)


# --------------------------------------------------------------------------- the document


def test_every_operation_documents_a_success_answer(spec: dict[str, Any]) -> None:
    ops = list(operations(spec))
    assert len(ops) >= 90
    missing = []
    kinds = {"json": 0, "other content": 0, "no body": 0}
    for method, path, operation in ops:
        successes = {s: r for s, r in operation["responses"].items() if s.startswith("2")}
        if not successes:
            missing.append(f"{method.upper()} {path}: no 2xx answer")
        for status, answer in successes.items():
            content = answer.get("content")
            if not content:
                if status != "204" and method != "head":
                    missing.append(f"{method.upper()} {path} {status}: no content")
                kinds["no body"] += 1
                continue
            for media_type, media in content.items():
                if media_type == "application/json":
                    kinds["json"] += 1
                    if not typed(media.get("schema")):
                        missing.append(f"{method.upper()} {path} {status}: untyped JSON")
                else:
                    kinds["other content"] += 1
                    assert media.get("schema"), f"{method.upper()} {path} {status} {media_type}"
    assert not missing, "\n".join(missing)
    assert kinds["json"] > 70 and kinds["other content"] >= 8


def test_authentication_and_records_are_documented(spec: dict[str, Any]) -> None:
    missing = []
    for method, path, operation in operations(spec):
        responses = operation["responses"]
        rule = rule_for(method.upper(), path)
        if rule.roles is not None and "401" not in responses:
            missing.append(f"{method.upper()} {path}: 401")
        names = re.findall(r"{(\w+)}", path)
        if any(name in RESOLVERS for name in names) and "404" not in responses:
            missing.append(f"{method.upper()} {path}: 404")
        has_params = bool(operation.get("parameters") or operation.get("requestBody"))
        if path == "/api/v1/chain/rpc":  # a bad call is a JSON-RPC error (200), never a 422
            has_params = False
        if has_params and "422" not in responses:
            missing.append(f"{method.upper()} {path}: 422")
    assert not missing, "\n".join(missing)


def test_errors_are_problems(spec: dict[str, Any]) -> None:
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    problem = spec["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail"} <= set(problem["required"])
    assert problem["additionalProperties"] is True
    wrong = []
    for method, path, operation in operations(spec):
        for status, answer in operation["responses"].items():
            if not status.startswith(("4", "5")):
                continue
            if path == "/readyz" and status == "503":  # the readiness report itself, as JSON
                continue
            content = answer.get("content", {})
            if set(content) != {PROBLEM_JSON} or content[PROBLEM_JSON]["schema"] != {
                "$ref": PROBLEM_REF
            }:
                wrong.append(f"{method.upper()} {path} {status}: {content}")
    assert not wrong, "\n".join(wrong)


def test_raw_bodies_declare_their_content_types(spec: dict[str, Any]) -> None:
    def body(method: str, path: str) -> set[str]:
        return set(spec["paths"][path][method]["requestBody"]["content"])

    assert body("post", "/api/v1/evidence") == {"multipart/form-data"}
    assert body("patch", "/api/v1/uploads/{upload_id}") == {"application/offset+octet-stream"}
    assert body("post", "/api/v1/verify") == {"multipart/form-data", "application/json"}
    assert body("post", "/api/v1/packages/verify") == {"application/zip", "multipart/form-data"}
    assert body("post", "/api/v1/evidence-lists/verify") == {"application/json"}
    assert body("post", "/api/v1/chain/rpc") == {"application/json"}
    content = spec["paths"]["/api/v1/evidence/{evidence_id}/content"]["get"]["responses"]
    assert {"200", "206", "307", "416"} <= set(content)


# --------------------------------------------------------------------------- live answers


class Checker:
    """Validates live answers against the schema the document gives for their status."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.checked: set[tuple[str, str]] = set()

    def __call__(self, method: str, template: str, response: httpx.Response) -> Any:
        assert response.status_code < 300 or response.status_code >= 400, response.text
        operation = self.spec["paths"][template][method]
        documented = operation["responses"].get(str(response.status_code))
        assert documented is not None, f"{method} {template}: {response.status_code} undocumented"
        media_type = response.headers["content-type"].split(";")[0]
        if media_type == PROBLEM_JSON:
            schema = documented["content"][PROBLEM_JSON]["schema"]
        else:
            assert media_type == "application/json", media_type
            schema = documented["content"]["application/json"]["schema"]
        body = response.json()
        document = {**schema, "components": self.spec["components"]}
        jsonschema.Draft202012Validator(document).validate(body)
        self.checked.add((method, template))
        return body


def test_documented_schemas_match_real_answers(api: Api, spec: dict[str, Any]) -> None:
    check = Checker(spec)
    client, officer, reviewer = api.client, api.auth(), api.auth("reviewer")
    court = api.auth_as(COURT, "court")
    court_id = next(d["id"] for d in api.departments if d["code"] == COURT)
    ev = "/api/v1/evidence/{evidence_id}"

    # problems: no token, an unknown record, a bad request
    check("get", ev, client.get("/api/v1/evidence/01JZZZZZZZZZZZZZZZZZZZZZZZ"))
    check("get", ev, client.get("/api/v1/evidence/01JZZZZZZZZZZZZZZZZZZZZZZZ", headers=officer))
    check("get", "/api/v1/evidence", client.get("/api/v1/evidence?limit=0", headers=officer))

    # system and evidence
    check("get", "/healthz", client.get("/healthz"))
    check("get", "/api/v1/ports", client.get("/api/v1/ports"))
    api.services.pki.issue(api.users["officer"]["id"])  # custodial key: captures are signed
    photo = check("post", "/api/v1/evidence", upload(api, "physical", samples.jpeg_with_exif()))
    item = photo["id"]
    doc_id = check("post", "/api/v1/evidence", upload(api, "documentary", samples.pdf()))["id"]
    check("get", ev, client.get(f"/api/v1/evidence/{item}", headers=officer))
    check("get", "/api/v1/evidence", client.get("/api/v1/evidence", headers=officer))
    check("get", ev + "/custody", client.get(f"/api/v1/evidence/{item}/custody", headers=officer))
    tagged = client.post(
        f"/api/v1/evidence/{item}/tags", json={"type": "free", "value": "冷库"}, headers=officer
    )
    check("post", ev + "/tags", tagged)
    check("get", ev + "/tags", client.get(f"/api/v1/evidence/{item}/tags", headers=officer))
    related = client.post(
        f"/api/v1/evidence/{doc_id}/relations",
        json={"kind": "corroborates", "target_id": item},
        headers=officer,
    )
    check("post", ev + "/relations", related)
    retention = client.get(f"/api/v1/evidence/{item}/retention", headers=officer)
    check("get", ev + "/retention", retention)

    # resumable upload
    declared = client.post(
        "/api/v1/uploads",
        json={"port": "documentary", "metadata": {"title": "分片"}, "filename": "a.pdf"},
        headers=officer,
    )
    upload_id = check("post", "/api/v1/uploads", declared)["id"]
    one = "/api/v1/uploads/{upload_id}"
    check("get", one, client.get(f"/api/v1/uploads/{upload_id}", headers=officer))
    check("delete", one, client.delete(f"/api/v1/uploads/{upload_id}", headers=officer))

    # parties, places, cases, graph
    party = client.post(
        "/api/v1/parties", json={"kind": "organisation", "name": "某冷链公司"}, headers=officer
    )
    party_id = check("post", "/api/v1/parties", party)["id"]
    check("get", "/api/v1/causes", client.get("/api/v1/causes", headers=officer))
    place = client.post(
        "/api/v1/places", json={"address": "杭州市", "lat": 30.27, "lon": 120.15}, headers=officer
    )
    place_id = check("post", "/api/v1/places", place)["id"]
    near = client.get("/api/v1/places?near_lat=30.27&near_lon=120.15&within_m=100", headers=officer)
    check("get", "/api/v1/places", near)
    opened = client.post(
        "/api/v1/cases",
        json={"case_number": "杭市监〔2026〕1号", "kind": "penalty", "title": "冷库温度超标"},
        headers=officer,
    )
    case_id = check("post", "/api/v1/cases", opened)["id"]
    case = "/api/v1/cases/{case_id}"
    for evidence_id in (item, doc_id):
        attached = client.post(
            f"/api/v1/cases/{case_id}/evidence",
            json={"evidence_id": evidence_id, "purpose": "证明温度超标"},
            headers=officer,
        )
        check("post", case + "/evidence", attached)
    linked = client.post(
        f"/api/v1/cases/{case_id}/parties", json={"party_id": party_id}, headers=officer
    )
    check("post", case + "/parties", linked)
    at_place = client.post(
        f"/api/v1/cases/{case_id}/places", json={"place_id": place_id}, headers=officer
    )
    check("post", case + "/places", at_place)
    check("get", case, client.get(f"/api/v1/cases/{case_id}", headers=officer))
    check("get", "/api/v1/cases", client.get("/api/v1/cases", headers=officer))
    graph = client.get(f"/api/v1/graph/{case_id}?hops=2", headers=officer)
    assert check("get", "/api/v1/graph/{node_id}", graph)["edges"]

    # evidence lists
    current = client.get(f"/api/v1/cases/{case_id}/evidence-list.json", headers=officer)
    check("get", case + "/evidence-list.json", current)
    issued = client.post(f"/api/v1/cases/{case_id}/evidence-lists", headers=reviewer)
    list_id = check("post", case + "/evidence-lists", issued)["id"]
    rows = client.get(f"/api/v1/cases/{case_id}/evidence-lists", headers=officer)
    check("get", case + "/evidence-lists", rows)

    # anchored: proof, batch, trust, verification, custody
    proof = wait_anchored(api, item)
    answer = client.get(f"/api/v1/evidence/{item}/proof", headers=officer)
    assert check("get", ev + "/proof", answer)["anchor"] is not None
    batch_id = proof["anchor"]["batch_id"]
    batch = client.get(f"/api/v1/batches/{batch_id}", headers=officer)
    check("get", "/api/v1/batches/{batch_id}", batch)
    check("get", "/api/v1/trust", client.get("/api/v1/trust"))
    verdict = client.post(
        "/api/v1/verify", json={"proof": proof, "sha256": photo["sha256"], "size": photo["size"]}
    )
    assert check("post", "/api/v1/verify", verdict)["valid"] is True
    check("get", "/api/v1/custody/verify", client.get("/api/v1/custody/verify", headers=officer))
    started = client.post("/api/v1/custody/verify-jobs", headers=officer)
    job_path = (
        f"/api/v1/custody/verify-jobs/{check('post', '/api/v1/custody/verify-jobs', started)['id']}"
    )
    while (job := client.get(job_path, headers=officer)).json()["status"] in ("queued", "running"):
        pass  # a walk of a few events
    assert check("get", "/api/v1/custody/verify-jobs/{job_id}", job)["status"] == "done"
    rpc = client.post(
        "/api/v1/chain/rpc", json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"}
    )
    check("post", "/api/v1/chain/rpc", rpc)
    listed = client.get(f"/api/v1/evidence-lists/{list_id}", headers=officer)
    check("get", "/api/v1/evidence-lists/{list_id}", listed)
    by_digest = client.post(
        "/api/v1/evidence-lists/verify", json={"digest": listed.json()["digest"]}, headers=officer
    )
    check("post", "/api/v1/evidence-lists/verify", by_digest)

    # a transfer to the court: sent, listed, opened, accepted, checked by its digest
    sent = client.post(
        "/api/v1/transfers",
        json={"to_department_id": court_id, "case_id": case_id},
        headers=reviewer,
    )
    transfer = check("post", "/api/v1/transfers", sent)
    tid, digest = transfer["id"], transfer["manifest_digest"]
    one_transfer = "/api/v1/transfers/{transfer_id}"
    check("get", "/api/v1/transfers", client.get("/api/v1/transfers", headers=court))
    check("get", one_transfer, client.get(f"/api/v1/transfers/{tid}", headers=court))
    opened_transfer = client.post(f"/api/v1/transfers/{tid}/open", headers=court)
    check("post", one_transfer + "/open", opened_transfer)
    accepted = client.post(f"/api/v1/transfers/{tid}/accept", headers=court)
    check("post", one_transfer + "/accept", accepted)
    receipt = client.get(f"/api/v1/transfers/{tid}/receipt", headers=court)
    check("get", one_transfer + "/receipt", receipt)
    check("get", one_transfer, client.get(f"/api/v1/transfers/{tid}", headers=court))
    public = client.get(f"/api/v1/transfers/verify/{digest}")
    check("get", "/api/v1/transfers/verify/{manifest_digest}", public)
    full = client.post("/api/v1/transfers/verify", json={"manifest_digest": digest}, headers=court)
    check("post", "/api/v1/transfers/verify", full)

    # people, certificates, seals
    check("get", "/api/v1/me", client.get("/api/v1/me", headers=officer))
    officer_id = api.users["officer"]["id"]
    certificates = client.get(f"/api/v1/officers/{officer_id}/certificates", headers=officer)
    check("get", "/api/v1/officers/{officer_id}/certificates", certificates)
    department_id = api.users["reviewer"]["department_id"]
    sealed = client.post(
        f"/api/v1/departments/{department_id}/seals",
        json={"digest": os.urandom(32).hex()},
        headers=reviewer,
    )
    record = check("post", "/api/v1/departments/{department_id}/seals", sealed)
    seal_check = client.post("/api/v1/seals/verify", json={"record": record})
    assert check("post", "/api/v1/seals/verify", seal_check)["valid"] is True

    resources = {template.split("/")[3] for _, template in check.checked if template.count("/") > 2}
    assert len(check.checked) >= 40, sorted(check.checked)
    assert {"evidence", "cases", "transfers", "trust", "batches", "verify", "custody"} <= resources


def test_binary_answers_have_their_documented_types(api: Api, spec: dict[str, Any]) -> None:
    client, officer = api.client, api.auth()
    created = upload(api, "documentary", samples.pdf())
    assert created.status_code == 201, created.text
    item = created.json()["id"]
    path = "/api/v1/evidence/{evidence_id}/content"
    documented = spec["paths"][path]["get"]["responses"]
    whole = client.get(f"/api/v1/evidence/{item}/content", headers=officer)
    assert whole.status_code == 200 and "200" in documented
    part = client.get(f"/api/v1/evidence/{item}/content", headers={**officer, "Range": "bytes=0-9"})
    assert part.status_code == 206 and len(part.content) == 10 and "206" in documented
    outside = client.get(
        f"/api/v1/evidence/{item}/content", headers={**officer, "Range": "bytes=999999999-"}
    )
    Checker(spec)("get", path, outside)
    seal = client.get(f"/api/v1/departments/{api.users['officer']['department_id']}/seal.png")
    assert seal.headers["content-type"] == "image/png"
    seal_doc = spec["paths"]["/api/v1/departments/{department_id}/seal.png"]["get"]["responses"]
    assert set(seal_doc["200"]["content"]) == {"image/png"}
    assert json.dumps(seal_doc["200"]["content"]["image/png"]["schema"]) == json.dumps(
        {"type": "string", "format": "binary"}
    )


def test_the_problem_schema_fits_every_problem_the_service_writes(
    api: Api, spec: dict[str, Any]
) -> None:
    check = Checker(spec)
    client, officer = api.client, api.auth()
    check("get", "/api/v1/me", client.get("/api/v1/me"))  # 401 missing token
    bad = {"Authorization": "Bearer nope"}
    check("get", "/api/v1/me", client.get("/api/v1/me", headers=bad))  # 401 invalid
    check("post", "/api/v1/causes", client.post("/api/v1/causes", json={}, headers=officer))
    check(
        "post",
        "/api/v1/evidence",
        upload(api, "documentary", samples.pdf(), metadata={"title": ""}),
    )
