"""The ``chain`` package face: every public name resolves, and importing it stays cheap."""

from __future__ import annotations

import importlib
import subprocess
import sys

import chain


def test_every_public_name_resolves_to_its_module() -> None:
    assert len(set(chain.__all__)) == len(chain.__all__)
    for name in chain.__all__:
        assert getattr(chain, name) is not None, name
    from chain import embedded, merkle

    assert chain.EmbeddedChain is embedded.EmbeddedChain
    assert chain.verify_inclusion is merkle.verify_inclusion


def test_importing_the_package_loads_no_ethereum_stack() -> None:
    probe = (
        "import sys, chain; "
        "print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'web3', 'eth', 'eth_tester', 'eth_abi', 'eth_utils', 'rlp', 'requests'})))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == ""


def test_every_lazily_loaded_name_is_exported_from_its_module() -> None:
    """The face lists each name twice (the lazy map and ``__all__``): they must agree."""
    for name, module in chain._MODULE_OF.items():
        assert name in chain.__all__, name
        assert getattr(chain, name) is getattr(importlib.import_module(module), name), name
