"""README.md is a short front door; docs/ holds the rest and stays true to the code."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

from evidence_service.core.config import FILE_SECRETS, Settings

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"
PAGES = [README, *sorted(DOCS.rglob("*.md"))]

#: The two commands README.md promises a new user; .ci/run and people rely on them verbatim.
COMMANDS = ("pip install -e . && evidence serve --demo", "./scripts/test")

#: [text](target) and [label]: target; images too. Targets with a scheme or only a #fragment
#: are not files.
LINK = re.compile(
    r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)|^\s*\[[^\]]+\]:\s*(\S+)", re.M
)
FENCED = re.compile(r"^```.*?^```", re.M | re.S)
ENV_NAME = re.compile(r"\bEVIDENCE_[A-Z0-9_]*[A-Z0-9]")


def load_generator() -> ModuleType:
    path = ROOT / "scripts" / "gen_config_docs.py"
    spec = importlib.util.spec_from_file_location("gen_config_docs", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)
    spec.loader.exec_module(module)
    return module


def page_id(path: Path) -> str:
    return str(path.relative_to(ROOT))


def test_readme_is_a_short_front_door_with_the_two_commands() -> None:
    size = len(README.read_bytes())
    assert size < 8192, f"README.md is {size} bytes; move detail into docs/"
    text = README.read_text(encoding="utf-8")
    for command in COMMANDS:
        assert command in text, f"README.md lost the command {command!r}"


def test_every_setting_has_a_description() -> None:
    gen = load_generator()
    _, missing = gen.descriptions()
    assert missing == [], (
        f"settings without a description: {missing}; give them Field(description=...) in "
        "evidence_service/core/config.py or an entry in FALLBACK_DESCRIPTIONS of "
        "scripts/gen_config_docs.py"
    )
    assert gen.stale_fallbacks() == [], "FALLBACK_DESCRIPTIONS names settings that are gone"


def test_configuration_page_is_generated_from_the_current_settings() -> None:
    gen = load_generator()
    assert gen.is_current(), (
        "docs/configuration.md is stale: run python3 scripts/gen_config_docs.py"
    )


def test_generated_page_never_shows_a_secret_default() -> None:
    gen = load_generator()
    rows = {
        line.split("|")[1].strip(" `"): line
        for line in gen.render().splitlines()
        if line.startswith("| `EVIDENCE_")
    }
    for name, info in Settings.model_fields.items():
        if gen.is_secret(info.annotation):
            row = rows[gen.env_name(name)]
            if info.default is not None:
                assert info.default.get_secret_value() not in row, f"{name}'s default is shown"
            assert "| — |" in row or f"| {gen.GENERATED} |" in row, row


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_relative_links_point_to_existing_files(page: Path) -> None:
    text = FENCED.sub("", page.read_text(encoding="utf-8"))
    broken = []
    for match in LINK.finditer(text):
        target = match.group(1) or match.group(2)
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I) or target.startswith("#"):
            continue
        file_part = target.split("#", 1)[0]
        resolved = (page.parent / file_part).resolve()
        if not resolved.exists() or not resolved.is_relative_to(ROOT):
            broken.append(target)
    assert broken == [], f"{page_id(page)} links to missing files: {broken}"


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_environment_variables_named_are_settings(page: Path) -> None:
    known = {f"EVIDENCE_{name.upper()}" for name in Settings.model_fields}
    known |= {f"EVIDENCE_{name.upper()}_FILE" for name in FILE_SECRETS}  # secrets from files
    named = set(ENV_NAME.findall(page.read_text(encoding="utf-8")))
    assert named - known == set(), f"{page_id(page)} names unknown variables"


def test_proof_format_page_exists() -> None:
    text = (DOCS / "proof-format.md").read_text(encoding="utf-8")
    assert "evidence-proof/1" in text and "AnchorRegistry" in text
