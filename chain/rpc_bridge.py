"""A web3 provider that answers from a function: how in-process code reads the embedded chain
through the same JSON-RPC surface (and the same allow-list) that auditors use over HTTP."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from web3._utils.encoding import Web3JsonEncoder
from web3.providers.base import BaseProvider
from web3.types import RPCEndpoint, RPCResponse

from chain.errors import ChainError, RpcError

RpcFunction = Callable[[str, list[Any]], Any]


class FunctionProvider(BaseProvider):
    def __init__(self, rpc: RpcFunction) -> None:
        super().__init__()
        self._rpc = rpc
        self._id = 0

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        self._id += 1
        # Encode params exactly as HTTPProvider would put them on the wire (bytes → 0x-hex).
        wire_params = json.loads(json.dumps(list(params or []), cls=Web3JsonEncoder))
        try:
            result = self._rpc(str(method), wire_params)
        except RpcError as exc:
            error: dict[str, Any] = {"code": exc.code, "message": exc.message}
            if exc.data is not None:
                error["data"] = exc.data
            return {"jsonrpc": "2.0", "id": self._id, "error": error}  # type: ignore[typeddict-item]
        except ChainError as exc:
            return {
                "jsonrpc": "2.0",
                "id": self._id,
                "error": {"code": RpcError.code, "message": str(exc)},
            }
        return {"jsonrpc": "2.0", "id": self._id, "result": result}

    def is_connected(self, show_traceback: bool = False) -> bool:
        return True
