"""The compiled AnchorRegistry, as packaged in ``chain.contracts``, and what its ABI tells us.

``scripts/compile_contracts`` writes ``AnchorRegistry.json`` next to ``AnchorRegistry.sol``; the
artifact records the SHA-256 of the source it was built from, so a source edit without a rebuild
is caught (``check_artifact_current``). Everything here is pure: bytes in, values out.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from eth_abi.abi import decode as abi_decode
from eth_abi.exceptions import DecodingError
from eth_utils.crypto import keccak

from chain.errors import ContractError

CONTRACT_NAME = "AnchorRegistry"
ANCHORED_EVENT = "Anchored(bytes32,uint256,uint256,address)"
ANCHORED_TOPIC = keccak(text=ANCHORED_EVENT)
# Solidity's built-in revert payloads, besides the contract's own custom errors.
_BUILTIN_ERRORS: dict[bytes, tuple[str, tuple[str, ...]]] = {
    keccak(text="Error(string)")[:4]: ("Error", ("string",)),
    keccak(text="Panic(uint256)")[:4]: ("Panic", ("uint256",)),
}


@dataclass(frozen=True)
class Revert:
    """A decoded revert payload: ``AlreadyAnchored`` with ``(root, blockNumber)``, say."""

    name: str  # "" when the selector is unknown
    args: tuple[Any, ...]
    data: bytes

    def __str__(self) -> str:
        if not self.name:
            return f"unknown error (return data 0x{self.data.hex()})" if self.data else "no reason"
        shown = ", ".join("0x" + a.hex() if isinstance(a, bytes) else str(a) for a in self.args)
        return f"{self.name}({shown})"


@dataclass(frozen=True)
class ContractArtifact:
    """ABI and bytecode of one compiled contract, with the compiler facts that reproduce it."""

    contract_name: str
    abi: tuple[dict[str, Any], ...]
    bytecode: bytes  # creation code
    deployed_bytecode: bytes  # runtime code, immutables zeroed
    compiler_version: str
    evm_version: str
    source_sha256: str  # hex
    _errors: dict[bytes, tuple[str, tuple[str, ...]]] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        errors = dict(_BUILTIN_ERRORS)
        for item in self.abi:
            if item.get("type") == "error":
                types = tuple(str(arg["type"]) for arg in item.get("inputs", []))
                signature = f"{item['name']}({','.join(types)})"
                errors[keccak(text=signature)[:4]] = (str(item["name"]), types)
        object.__setattr__(self, "_errors", errors)

    @classmethod
    def from_json(cls, raw: bytes | str) -> ContractArtifact:
        """Parse the artifact JSON written by ``scripts/eth/compile.mjs``; ContractError if a
        field is missing or malformed."""
        try:
            doc = json.loads(raw)
            compiler = doc["compiler"]
            return cls(
                contract_name=str(doc["contractName"]),
                abi=tuple(doc["abi"]),
                bytecode=_hex_bytes(doc["bytecode"]),
                deployed_bytecode=_hex_bytes(doc["deployedBytecode"]),
                compiler_version=str(compiler["version"]),
                evm_version=str(compiler["evmVersion"]),
                source_sha256=str(doc["sourceSha256"]).lower(),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise ContractError(f"the contract artifact is malformed: {exc!r}") from exc

    def decode_revert(self, data: bytes) -> Revert:
        """Name the custom (or built-in) error in a revert payload; unknown selectors keep the
        raw bytes so the message still says what came back."""
        known = self._errors.get(bytes(data[:4]))
        if known is None:
            return Revert("", (), bytes(data))
        name, types = known
        try:
            args = tuple(abi_decode(list(types), bytes(data[4:])))
        except (DecodingError, ValueError, TypeError):
            return Revert(name, (), bytes(data))
        return Revert(name, args, bytes(data))


def _hex_bytes(value: object) -> bytes:
    if not isinstance(value, str) or not value.startswith("0x"):
        raise ValueError(f"expected a 0x hex string, got {str(value)[:20]!r}")
    return bytes.fromhex(value[2:])


def _package_file(name: str) -> bytes:
    return resources.files("chain.contracts").joinpath(name).read_bytes()


@cache
def load_artifact(name: str = CONTRACT_NAME) -> ContractArtifact:
    """The packaged artifact of contract ``name`` (read once per process)."""
    try:
        raw = _package_file(f"{name}.json")
    except OSError as exc:
        raise ContractError(f"no packaged artifact {name}.json in chain.contracts") from exc
    return ContractArtifact.from_json(raw)


def check_artifact_current(name: str = CONTRACT_NAME) -> None:
    """Return None if ``{name}.json`` was built from the packaged ``{name}.sol``; raise
    ContractError (rebuild with scripts/compile_contracts) if the source changed since."""
    try:
        source = _package_file(f"{name}.sol")
    except OSError as exc:
        raise ContractError(f"no packaged source {name}.sol in chain.contracts") from exc
    actual = hashlib.sha256(source).hexdigest()
    recorded = load_artifact(name).source_sha256
    if actual != recorded:
        raise ContractError(
            f"{name}.json is stale: it was built from source sha256 {recorded}, but {name}.sol "
            f"hashes to {actual}; run scripts/compile_contracts and commit the artifact"
        )
