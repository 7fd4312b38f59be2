"""A short smoke of `make chaos` inside `make test`: separate bot processes, one fault on a live
conversation, the history checker and the table. The full run is `make chaos`."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

import pytest

from tests.reliability.chaos import print_table, run_scenario
from tests.reliability.faults import FAULTS

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("name", ["gateway-drop", "429-storm"])
async def test_a_live_conversation_survives_the_fault_with_every_prompt_answered_once(
    name: str, tmp_path: Path
) -> None:
    fault = next(f for f in FAULTS if f.name == name)
    # Embedded backends keep the smoke short; the production backends are in `make chaos`.
    quick = dataclasses.replace(fault, backends=False, turns=2, options={"token_delay_s": 0.1})
    result = await run_scenario(quick, tmp_path, None)
    table = io.StringIO()
    print_table([result], table)
    assert result.passed, table.getvalue()
    assert table.getvalue().splitlines()[-1] == ("lost=0 duplicated=0 out_of_order=0 scenarios_passed=1/1")
    assert result.report.answered == 2 * quick.people
