"""A short run of the fuzz targets (the long one: `python -m tests.reliability.fuzz --seconds N`)."""

from __future__ import annotations

import pytest

from tests.reliability.fuzz import DECODER_TARGETS, decoder, fuzz_devcord_rest


@pytest.mark.parametrize("name", sorted(DECODER_TARGETS))
def test_decoders_raise_only_their_documented_errors_on_damaged_input(name: str) -> None:
    decoder(name, 200)()


async def test_devcord_rest_answers_malformed_json_and_wrong_types_with_4xx_never_5xx() -> None:
    result = await fuzz_devcord_rest(30.0, max_requests=400)
    assert result["sent"] >= 100
    assert result["failures"] == []
