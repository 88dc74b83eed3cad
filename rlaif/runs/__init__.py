"""The resumable job engine shared by ``rlaif generate``, ``critique``, ``label`` and the
evaluations. Dataset jobs: units of work run concurrently but written in input order
(:mod:`.units`), the output and side files (:mod:`.sink`), the job skeleton with its manifest
(:mod:`.job`). Evaluations: the keyed result store (:mod:`.store`) and the chunked loop that
resumes from it (:mod:`.keyed`). Both: what a run spends (:mod:`.tally`; every model call is
also journalled as it completes, :mod:`.journal`, so killed runs count), the models a job opens
and closes itself (:mod:`.owned`), the progress bar (:mod:`.progress`) and the one failure policy
of every model call a job makes (:mod:`.failures`: what stops a run, what is recorded).

It sits beside :mod:`rlaif.data` and imports nothing above it (no judge, train or eval).
"""

from rlaif.runs.failures import CallFailure, attempt
from rlaif.runs.job import ResumableJob, RunSummary
from rlaif.runs.keyed import run_keyed
from rlaif.runs.owned import open_model
from rlaif.runs.progress import RunProgress
from rlaif.runs.sink import Outputs, Sink
from rlaif.runs.store import ResultStore
from rlaif.runs.tally import RunTally
from rlaif.runs.units import Unit, run_units

__all__ = [
    "CallFailure",
    "Outputs",
    "ResultStore",
    "ResumableJob",
    "RunProgress",
    "RunSummary",
    "RunTally",
    "Sink",
    "Unit",
    "attempt",
    "open_model",
    "run_keyed",
    "run_units",
]
