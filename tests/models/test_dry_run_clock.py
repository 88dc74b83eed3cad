"""A dry run's clock for a local model: decoding batched only where the job has enough
independent generations to fill batches; a model that does not run here gets no clock."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from rlaif.models import dry_run
from rlaif.models.dry_run import BATCHES_TO_FILL, CallEstimator, Throughput
from rlaif.models.spec import ModelSpec


class _Backend:
    def __init__(self, measured: Throughput | Exception) -> None:
        self.measured = measured

    def measure_throughput(self) -> Throughput:
        if isinstance(self.measured, Exception):
            raise self.measured
        return self.measured


def _model(name: str, measured: Throughput | Exception) -> SimpleNamespace:
    return SimpleNamespace(
        name=name,
        spec=ModelSpec(name=name),
        backend=_Backend(measured),
        limiter=SimpleNamespace(maximum=8),
    )


@pytest.fixture(autouse=True)
def _fresh_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dry_run, "_THROUGHPUT", {})


def _seconds(model: SimpleNamespace, generations: int) -> tuple[float | None, str]:
    estimator = CallEstimator()
    estimator.planned(
        model, calls=generations, input_tokens=0, output_tokens=10 * generations, generates=True
    )
    (row,) = estimator.finish()
    return row.seconds, row.time_basis


def test_a_job_that_fills_batches_is_clocked_at_the_batched_rate() -> None:
    model = _model("hf/probe", Throughput(1000.0, 10.0, batch=8, batch_decode_tokens_per_s=80.0))
    few = BATCHES_TO_FILL * 8 - 1
    many = BATCHES_TO_FILL * 8
    seconds, basis = _seconds(model, few)
    assert seconds == pytest.approx(10 * few / 10.0) and "one sequence at a time" in basis
    seconds, basis = _seconds(model, many)
    assert seconds == pytest.approx(10 * many / 80.0) and "8 sequences together" in basis


def test_a_model_that_does_not_run_here_has_no_clock() -> None:
    model = _model("hf/elsewhere", RuntimeError("CUDA is not available\nmore detail"))
    seconds, basis = _seconds(model, 5)
    assert seconds is None
    assert basis == "not measured: hf/elsewhere does not run here (CUDA is not available)"
