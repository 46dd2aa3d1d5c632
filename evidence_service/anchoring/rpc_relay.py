"""The read-only JSON-RPC relay: what ``/api/v1/chain/rpc`` does on a replica without the
embedded chain, when the service anchors on a JSON-RPC node (``EVIDENCE_CHAIN_URL``).

Only ``READ_ONLY_METHODS`` are forwarded, with the embedded chain's bounds where a node would be
looser (``eth_call`` gas, the block range of ``eth_getLogs`` given as numbers); any other method
is answered here with JSON-RPC error -32601 and never reaches the node. A batch goes to the node
as one request with ids rewritten to positions, so answers are matched to calls whatever ids the
caller chose (or repeated), and the caller's ids are put back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from chain.embedded import READ_ONLY_METHODS, RpcLimits
from chain.errors import ChainUnavailableError

#: Most bytes of a node's answer relayed (a block with full transactions, many logs).
MAX_RELAY_ANSWER_BYTES = 16 * 1024 * 1024


def rpc_error(request_id: Any, code: int, message: str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "error": {"code": code, "message": message}}


def refusal(call: Any, limits: RpcLimits) -> dict[str, Any] | None:
    """The JSON-RPC error answering ``call`` here, or None if it may go to the node."""
    if not isinstance(call, dict) or not isinstance(call.get("method"), str):
        return rpc_error(None, -32600, "invalid request")
    request_id = call.get("id")
    method, params = call["method"], call.get("params", [])
    if not isinstance(params, list):
        return rpc_error(request_id, -32602, "params must be an array")
    if method not in READ_ONLY_METHODS:
        return rpc_error(request_id, -32601, f"method {method} is not available (read-only)")
    if method == "eth_call" and params and isinstance(params[0], dict):
        gas = _quantity(params[0].get("gas"))
        if gas is not None and gas > limits.max_call_gas:
            return rpc_error(request_id, -32602, f"gas is limited to {limits.max_call_gas}")
    if method == "eth_getLogs" and params and isinstance(params[0], dict):
        start, end = _quantity(params[0].get("fromBlock")), _quantity(params[0].get("toBlock"))
        if start is not None and end is not None and end - start >= limits.max_log_block_range:
            return rpc_error(
                request_id, -32602, f"block ranges are limited to {limits.max_log_block_range}"
            )
    return None


def _quantity(value: object) -> int | None:
    if isinstance(value, str) and value.startswith("0x"):
        try:
            return int(value, 16)
        except ValueError:
            return None
    return None


def _bounded(call: dict[str, Any], position: int, limits: RpcLimits) -> dict[str, Any]:
    """The call as sent to the node: id = its position, an ``eth_call`` without gas capped."""
    params = list(call.get("params", []))
    if call["method"] == "eth_call" and params and isinstance(params[0], dict):
        params[0] = {"gas": hex(limits.max_call_gas), **params[0]}
    return {"jsonrpc": "2.0", "id": position, "method": call["method"], "params": params}


@dataclass(frozen=True)
class RpcRelay:
    """Forwards read-only calls to ``url``; ``transport`` is for tests (httpx.MockTransport)."""

    url: str
    timeout: float
    limits: RpcLimits = RpcLimits()
    transport: httpx.BaseTransport | None = None

    def answer(self, calls: Sequence[Any]) -> list[dict[str, Any]]:
        """One answer per call, in order. Raises ``ChainUnavailableError`` if the node does
        not answer, or answers with something other than JSON-RPC."""
        answers: list[dict[str, Any] | None] = [refusal(call, self.limits) for call in calls]
        outgoing = [
            _bounded(call, position, self.limits)
            for position, call in enumerate(calls)
            if answers[position] is None
        ]
        if outgoing:
            for position, reply in self._send(outgoing).items():
                reply["id"] = calls[position].get("id")
                answers[position] = reply
        return [
            reply
            if reply is not None
            else rpc_error(calls[position].get("id"), -32603, "the node gave no answer")
            for position, reply in enumerate(answers)
        ]

    def _send(self, outgoing: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
        try:
            with httpx.Client(timeout=self.timeout, transport=self.transport) as client:
                with client.stream("POST", self.url, json=outgoing) as response:
                    response.raise_for_status()
                    body = bytearray()
                    for chunk in response.iter_bytes():
                        body += chunk
                        if len(body) > MAX_RELAY_ANSWER_BYTES:
                            raise ChainUnavailableError(
                                f"the node's answer exceeds {MAX_RELAY_ANSWER_BYTES} bytes"
                            )
            replies = httpx.Response(200, content=bytes(body)).json()
        except httpx.HTTPError as exc:
            raise ChainUnavailableError(f"the chain node did not answer: {exc}") from exc
        except ValueError as exc:
            raise ChainUnavailableError("the chain node's answer is not JSON") from exc
        if isinstance(replies, dict):
            replies = [replies]
        if not isinstance(replies, list):
            raise ChainUnavailableError("the chain node's answer is not JSON-RPC")
        by_position: dict[int, dict[str, Any]] = {}
        sent = {call["id"] for call in outgoing}
        for reply in replies:
            position = reply.get("id") if isinstance(reply, dict) else None
            if isinstance(position, int) and position in sent:
                by_position[position] = {
                    "jsonrpc": "2.0",
                    **{k: reply[k] for k in ("result", "error") if k in reply},
                }
        return by_position
