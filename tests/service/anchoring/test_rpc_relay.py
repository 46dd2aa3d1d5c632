"""/api/v1/chain/rpc on a replica without the embedded chain: read-only calls relayed to the
JSON-RPC node (EVIDENCE_CHAIN_URL), writes refused before they reach it, a dead node a 503."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from chain.embedded import RpcLimits
from evidence_service.anchoring.rpc_relay import RpcRelay
from evidence_service.services import build_services
from tests.fixtures.hardhat import HardhatNode
from tests.fixtures.live_server import free_port
from tests.fixtures.service import Api, make_settings, running_api
from tests.service.helpers import assert_problem

RPC = "/api/v1/chain/rpc"


def relaying_api(tmp_path: Path, request: pytest.FixtureRequest, url: str) -> Iterator[Api]:
    settings = make_settings(
        tmp_path, "sqlite-local", request, chain_url=url, chain_key="0x" + "11" * 32
    )
    services = build_services(settings)
    with running_api(services, "sqlite-local") as api:
        assert services.chain_holder.embedded() is None  # no chain in this process
        yield api
    services.close()


@pytest.fixture
def relay_api(
    tmp_path: Path, request: pytest.FixtureRequest, hardhat_node: HardhatNode
) -> Iterator[Api]:
    yield from relaying_api(tmp_path, request, hardhat_node.url)


def call(method: str, params: list[Any] | None = None, request_id: Any = 1) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params or []}


def test_reads_are_relayed_to_the_node(relay_api: Api, hardhat_node: HardhatNode) -> None:
    single = relay_api.client.post(RPC, json=call("eth_chainId", request_id="x"))
    assert single.status_code == 200
    assert single.json() == {"jsonrpc": "2.0", "id": "x", "result": hex(hardhat_node.chain_id)}
    number = int(hardhat_node.rpc("eth_blockNumber"), 16)
    batch = relay_api.client.post(
        RPC,
        json=[
            call("eth_blockNumber", request_id=7),
            call("eth_sendRawTransaction", ["0x00"], request_id=7),  # the same id, on purpose
            call("eth_getBlockByNumber", [hex(number), False], request_id=None),
            call("evm_mine"),
            {"jsonrpc": "2.0", "id": 9, "method": "eth_chainId", "params": {"not": "a list"}},
            "not a call",
        ],
    )
    assert batch.status_code == 200
    block_number, write, block, test_control, bad_params, garbage = batch.json()
    assert block_number["id"] == 7 and int(block_number["result"], 16) >= number
    assert write == {
        "jsonrpc": "2.0",
        "id": 7,
        "error": {"code": -32601, "message": "method eth_sendRawTransaction is not available "
                  "(read-only)"},
    }  # fmt: skip
    assert block["id"] is None and block["result"]["number"] == hex(number)
    assert test_control["error"]["code"] == -32601
    assert int(hardhat_node.rpc("eth_blockNumber"), 16) == int(block_number["result"], 16)
    assert bad_params["error"]["code"] == -32602
    assert garbage["error"]["code"] == -32600
    # The node's own errors come back as they are.
    missing = relay_api.client.post(RPC, json=call("eth_getBlockByNumber", ["0xzz", False]))
    assert missing.status_code == 200 and "error" in missing.json()


def test_bounds_of_the_embedded_chain_apply(relay_api: Api) -> None:
    limits = RpcLimits()
    gas = relay_api.client.post(
        RPC, json=call("eth_call", [{"to": "0x" + "00" * 20, "gas": hex(10**9)}, "latest"])
    )
    assert gas.json()["error"] == {
        "code": -32602,
        "message": f"gas is limited to {limits.max_call_gas}",
    }
    logs = relay_api.client.post(
        RPC,
        json=call("eth_getLogs", [{"fromBlock": "0x0", "toBlock": hex(10**6)}]),
    )
    assert logs.json()["error"]["code"] == -32602
    too_many = relay_api.client.post(RPC, json=[call("eth_chainId")] * 51)
    assert too_many.json()["error"]["code"] == -32600
    malformed = relay_api.client.post(
        RPC, content=b"{", headers={"content-type": "application/json"}
    )
    assert malformed.json() == {
        "jsonrpc": "2.0",
        "id": None,
        "error": {"code": -32700, "message": "parse error"},
    }
    huge = relay_api.client.post(
        RPC, content=b" " * (64 * 1024 + 1), headers={"content-type": "application/json"}
    )
    assert_problem(huge, 413, "body-too-large")


def test_only_bounded_reads_leave_the_service() -> None:
    seen: list[Any] = []

    def node(request: httpx.Request) -> httpx.Response:
        calls = json.loads(request.content)
        seen.extend(calls)
        return httpx.Response(
            200, json=[{"jsonrpc": "2.0", "id": c["id"], "result": "0x1"} for c in reversed(calls)]
        )

    relay = RpcRelay("http://node.invalid", 5.0, transport=httpx.MockTransport(node))
    answers = relay.answer(
        [
            call("eth_call", [{"to": "0x" + "00" * 20}, "latest"], request_id="a"),
            call("eth_sendTransaction", [{}], request_id="b"),
            call("eth_chainId", request_id="c"),
        ]
    )
    assert [a["id"] for a in answers] == ["a", "b", "c"]
    assert answers[0]["result"] == "0x1" and answers[2]["result"] == "0x1"
    assert answers[1]["error"]["code"] == -32601
    assert [c["method"] for c in seen] == ["eth_call", "eth_chainId"]
    assert seen[0]["params"][0]["gas"] == hex(RpcLimits().max_call_gas)  # capped when absent


def test_a_node_that_does_not_answer_is_a_503(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    for api in relaying_api(tmp_path, request, f"http://127.0.0.1:{free_port()}"):
        answer = api.client.post(RPC, json=call("eth_chainId"))
        body = assert_problem(answer, 503, "chain-unavailable")
        assert "did not answer" in body["detail"]
        refused = api.client.post(RPC, json=call("eth_sendRawTransaction", ["0x00"]))
        assert refused.status_code == 200 and refused.json()["error"]["code"] == -32601
