"""The one-model-a-process rule: when several models' OpenMP threads outnumber the cores (pure)."""

from __future__ import annotations

from client_bot.engine.native import openmp_oversubscribed


def test_one_model_never_counts_as_oversubscribed_whatever_its_threads() -> None:
    assert not openmp_oversubscribed([8], cpus=2)


def test_two_models_oversubscribe_only_when_their_threads_exceed_the_cores() -> None:
    assert openmp_oversubscribed([2, 2], cpus=2)
    assert not openmp_oversubscribed([1, 1], cpus=2)
    assert not openmp_oversubscribed([2, 2], cpus=4)


def test_an_unknown_core_count_is_not_reported_as_oversubscribed() -> None:
    assert not openmp_oversubscribed([2, 2], cpus=None)
