"""The ``signing`` package face: every public name resolves, and importing it stays cheap."""

from __future__ import annotations

import importlib
import subprocess
import sys

import signing


def test_every_public_name_resolves_to_its_module() -> None:
    assert len(set(signing.__all__)) == len(signing.__all__)
    for name in signing.__all__:
        assert getattr(signing, name) is not None, name
    from signing import bls, fonts, seal, seal_image, stamp

    assert signing.bls is bls
    assert signing.FontNotFoundError is fonts.FontNotFoundError
    assert signing.SealRecord is seal.SealRecord
    assert signing.render_seal is seal_image.render_seal
    assert signing.stamp_pdf_page is stamp.stamp_pdf_page


def test_unknown_names_are_attribute_errors() -> None:
    try:
        signing.no_such_name  # noqa: B018
    except AttributeError as exc:
        assert "no_such_name" in str(exc)
    else:
        raise AssertionError("signing.no_such_name resolved")


def test_importing_the_package_loads_no_heavy_dependency() -> None:
    probe = (
        "import sys, signing; "
        "print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'PIL', 'cryptography', 'py_ecc', 'blspy', 'pypdf', 'rfc8785', 'nacl'})))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == ""


def test_every_lazily_loaded_name_is_exported_from_its_module() -> None:
    """The face lists each name twice (the lazy map and ``__all__``): they must agree."""
    for name, module in signing._MODULE_OF.items():
        assert name in signing.__all__, name
        assert getattr(signing, name) is getattr(importlib.import_module(module), name), name
