"""The anchoring client for a JSON-RPC node over HTTP(S) (Hardhat, geth, a provider's endpoint).

All contract logic is ``Web3AnchorChain``'s; this adds the transport: one ``requests`` session,
a per-request timeout, and no silent retries — a node that does not answer within
``request_timeout`` is ``ChainUnavailableError`` at once, and retrying is the caller's decision
(the anchoring worker backs off and tries again).
"""

from __future__ import annotations

from urllib.parse import urlsplit

import requests
from web3 import HTTPProvider, Web3

from chain.web3_client import Web3AnchorChain


class RpcChain(Web3AnchorChain):
    """``Web3AnchorChain`` over ``HTTPProvider``; open it with ``RpcChain.connect``."""

    _session: requests.Session | None = None
    _endpoint: str = "?"
    _url_secrets: tuple[str, ...] = ()

    @classmethod
    def connect(
        cls,
        url: str,
        *,
        private_key: bytes,
        contract_address: str | None = None,
        confirmations: int = 0,
        request_timeout: float = 10.0,
        receipt_timeout: float = 120.0,
        poll_interval: float = 1.0,
        gas_limit: int = 200_000,
    ) -> RpcChain:
        """Connect to the node at ``url`` and check that it answers (``eth_chainId``);
        ChainUnavailableError if it does not. With ``contract_address``, the registry there is
        checked too (ContractError if it is not AnchorRegistry)."""
        if request_timeout <= 0:
            raise ValueError("request_timeout must be > 0")
        session = requests.Session()
        provider = HTTPProvider(
            url,
            request_kwargs={"timeout": request_timeout},
            session=session,
            exception_retry_configuration=None,
        )
        chain = cls(
            Web3(provider),
            private_key=private_key,
            confirmations=confirmations,
            receipt_timeout=receipt_timeout,
            poll_interval=poll_interval,
            gas_limit=gas_limit,
        )
        chain._session = session
        chain._endpoint = _public_endpoint(url)
        chain._url_secrets = _url_secrets(url)
        try:
            chain.chain_id  # noqa: B018 — the first request: is anybody there?
            if contract_address is not None:
                chain.use_contract(contract_address)
        except BaseException:
            chain.close()
            raise
        return chain

    @property
    def endpoint(self) -> str:
        """``scheme://host:port`` of the node; the path and query (which may hold an API key)
        are left out."""
        return self._endpoint

    def __repr__(self) -> str:
        return f"{super().__repr__()[:-1]}, endpoint={self._endpoint})"

    __str__ = __repr__

    def _describe(self, exc: BaseException) -> str:
        text = str(exc)
        for secret in self._url_secrets:
            text = text.replace(secret, "…")
        return text

    def close(self) -> None:
        super().close()
        if self._session is not None:
            self._session.close()
            self._session = None


def _url_secrets(url: str) -> tuple[str, ...]:
    """The parts of ``url`` that may hold a credential (an API key in the path or query, a
    user:password), longest first, for scrubbing from error messages that quote them."""
    parts = urlsplit(url)
    tail = parts.path + (f"?{parts.query}" if parts.query else "")
    candidates = [url, tail if tail not in ("", "/") else "", parts.query, parts.password or ""]
    return tuple(sorted({c for c in candidates if len(c) > 1}, key=len, reverse=True))


def _public_endpoint(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}"
