"""The README stays true to the code: every setting documented, the quick start runnable."""

from __future__ import annotations

import re
from pathlib import Path

from tunesmith.config import Settings

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_every_setting_is_documented() -> None:
    documented = set(re.findall(r"`(TUNESMITH_[A-Z_]+)`", README))
    settings = {f"TUNESMITH_{name.upper()}" for name in Settings.model_fields}
    assert settings - documented == set()
    assert documented - settings - {"TUNESMITH_NO_APT", "TUNESMITH_TORCH"} == set()


def test_quick_start_has_exactly_the_two_commands_and_ci_runs_the_test_one() -> None:
    quick = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", quick, re.S)
    assert block is not None
    commands = [line.split("#")[0].strip() for line in block.group(1).splitlines()]
    assert [c for c in commands if c] == ["./scripts/serve", "./scripts/test"]
    assert "scripts/test" in (ROOT / ".ci" / "run").read_text()
