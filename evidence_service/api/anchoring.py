"""Anchoring facts: the trust bundle, batches, and the chain's read-only JSON-RPC."""

from __future__ import annotations

import json
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse

from chain.errors import ChainError, ChainUnavailableError, RpcError
from evidence_service.access.trust import published_trust
from evidence_service.anchoring.batch_views import MAX_BATCH_ID, batch_public, read_batch
from evidence_service.anchoring.rpc_relay import RpcRelay, rpc_error
from evidence_service.api import schemas
from evidence_service.api.deps import CurrentActor, ServicesDep
from evidence_service.api.responses import ok, problems
from evidence_service.core.errors import BadRequestError, ChainUnavailableProblem

router = APIRouter(tags=["anchoring"])

MAX_RPC_BODY = 64 * 1024
MAX_RPC_BATCH = 50
_RPC_CALL: dict[str, Any] = {
    "type": "object",
    "required": ["method"],
    "properties": {
        "jsonrpc": {"type": "string", "const": "2.0"},
        "id": {},
        "method": {"type": "string"},
        "params": {"type": "array"},
    },
}
RPC_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "oneOf": [
                        _RPC_CALL,
                        {
                            "type": "array",
                            "items": _RPC_CALL,
                            "minItems": 1,
                            "maxItems": MAX_RPC_BATCH,
                        },
                    ]
                }
            }
        },
    }
}


@router.get(
    "/api/v1/trust",
    summary="Trust bundle: chain id, registry address, CA certificates",
    responses={**ok(schemas.Trust), **problems(401)},
)
def trust(services: ServicesDep) -> dict[str, Any]:
    """Public: a verifier pins these once. ``ca_certificates`` lists the department CAs (PEM),
    ``crls`` their current revocation lists (fetch again to learn of revocations)."""
    document = published_trust(services)
    embedded = not services.settings.chain_url
    return {
        **document,
        "chain": "embedded" if embedded else "json-rpc",
        "chain_rpc": "/api/v1/chain/rpc",
    }


@router.get(
    "/api/v1/batches/{batch_id}",
    summary="One Merkle batch and its anchor",
    responses={**ok(schemas.Batch), **problems(401, 404, 422)},
)
def get_batch(
    batch_id: Annotated[int, Path(ge=1, le=MAX_BATCH_ID)],
    services: ServicesDep,
    actor: CurrentActor,
) -> dict[str, Any]:
    """Batch ids are 1 to 2^63-1; another number is a 422."""
    return batch_public(read_batch(services.engine, batch_id))


@router.post(
    "/api/v1/chain/rpc",
    summary="Read-only JSON-RPC of the anchoring chain",
    openapi_extra=RPC_BODY,
    responses={
        **ok(
            schemas.JsonRpcAnswer | list[schemas.JsonRpcAnswer],
            description="One answer, or one per call of a batch (errors are JSON-RPC errors)",
        ),
        **problems(400, 401, 503),
    },
)
async def chain_rpc(request: Request, services: ServicesDep) -> JSONResponse:
    """Point any Ethereum tool (e.g. web3.py's ``HTTPProvider``) here to read the chain the
    service anchors on: eth_chainId, eth_blockNumber, eth_getBlockByNumber/ByHash,
    eth_getTransactionByHash, eth_getTransactionReceipt, eth_call, eth_getLogs, eth_getCode,
    net_version. Methods that write are refused (JSON-RPC error -32601). The process that owns
    the embedded chain answers itself; with ``EVIDENCE_CHAIN_URL`` every replica relays the
    same read-only calls to that node (503 if it does not answer)."""
    embedded = services.chain_holder.embedded()
    settings = services.settings
    if embedded is None and not settings.chain_url:
        raise ChainUnavailableProblem(
            "the embedded chain is not open in this process (is the anchoring worker on?)"
        )
    body = await request.body()
    if len(body) > MAX_RPC_BODY:
        raise BadRequestError(f"JSON-RPC requests are limited to {MAX_RPC_BODY} bytes")
    try:
        payload = json.loads(body)
    except json.JSONDecodeError:
        return JSONResponse(rpc_error(None, -32700, "parse error"))
    if isinstance(payload, list) and (not payload or len(payload) > MAX_RPC_BATCH):
        return JSONResponse(rpc_error(None, -32600, f"batches hold 1..{MAX_RPC_BATCH} calls"))
    if embedded is None:
        assert settings.chain_url is not None
        relay = RpcRelay(settings.chain_url, settings.chain_timeout_seconds)
        calls = payload if isinstance(payload, list) else [payload]
        try:
            answers = await anyio.to_thread.run_sync(relay.answer, calls)
        except ChainUnavailableError as exc:
            raise ChainUnavailableProblem(str(exc)) from exc
        return JSONResponse(answers if isinstance(payload, list) else answers[0])

    def answer(call: Any) -> dict[str, Any]:
        if not isinstance(call, dict) or not isinstance(call.get("method"), str):
            return rpc_error(None, -32600, "invalid request")
        request_id = call.get("id")
        params = call.get("params", [])
        if not isinstance(params, list):
            return rpc_error(request_id, -32602, "params must be an array")
        try:
            result = embedded.rpc(call["method"], params)
        except RpcError as exc:
            error = rpc_error(request_id, exc.code, exc.message)
            if exc.data is not None:
                error["error"]["data"] = exc.data
            return error
        except ChainError as exc:
            return rpc_error(request_id, RpcError.code, str(exc))
        return {"jsonrpc": "2.0", "id": request_id, "result": result}

    if isinstance(payload, list):
        answers = await anyio.to_thread.run_sync(lambda: [answer(call) for call in payload])
        return JSONResponse(answers)
    return JSONResponse(await anyio.to_thread.run_sync(answer, payload))
