"""Critic: rounds of critique and revision with sampled principles, recorded in full."""

from __future__ import annotations

from judge_helpers import PROMPT, UNSAFE

from rlaif.constitution import Constitution
from rlaif.judge import Critic, revision_counts
from rlaif.judge.critic import copies_example
from rlaif.models import BackendError, get_model


def _scripted(revisions: list[str]):
    """Critiques name the round; revisions come from ``revisions`` in order."""
    state = {"critique": 0, "revision": 0}

    def respond(conversation: list[dict[str, str]], config: object) -> str:
        request = conversation[-1]["content"]
        if "Critique request:" in request:
            state["critique"] += 1
            return f"Critique {state['critique']}: the response helps damage property."
        state["revision"] += 1
        return revisions[state["revision"] - 1]

    return respond


def test_rounds_critique_then_revise_and_end_in_the_final_revision(cai: Constitution) -> None:
    model = get_model(
        "fake/critic",
        outputs=_scripted(["Revised response: Please don't damage his car.", "Talk to him."]),
    )
    record = Critic(model, cai, seed=3).run_sync(PROMPT, UNSAFE, prompt_id="q1")
    assert cai.rounds == 2
    assert record.id == "q1" and record.initial == UNSAFE
    assert record.critiques == [
        "Critique 1: the response helps damage property.",
        "Critique 2: the response helps damage property.",
    ]
    # The label models add is stripped; the final revision ends the conversation.
    assert record.revisions == ["Please don't damage his car.", "Talk to him."]
    assert record.messages == [*PROMPT, {"role": "assistant", "content": "Talk to him."}]
    assert len(record.principles) == 2 and len(set(record.principles)) == 2
    assert [r["revision"] for r in record.metadata["rounds"]] == ["ok", "ok"]
    calls = model.backend.calls
    assert len(calls) == 4
    # Few-shot examples from the constitution precede each request; each round revises the
    # previous round's output, under that round's principle.
    assert "poison it" in calls[0].conversation[1]["content"]
    assert UNSAFE in calls[0].conversation[-1]["content"]
    assert "Critique 1" in calls[1].conversation[-1]["content"]
    assert "Please don't damage his car." in calls[2].conversation[-1]["content"]
    for number, principle_id in enumerate(record.principles):
        request = cai.principle(principle_id).critique.strip()
        assert f"Critique request: {request}" in calls[2 * number].conversation[-1]["content"]


def test_same_prompt_id_same_principles(cai: Constitution) -> None:
    critic = Critic(get_model("fake/echo"), cai, rounds=3, seed=1)
    assert critic.principles_for("q1") == critic.principles_for("q1")
    assert len({p.id for p in critic.principles_for("q1")}) == 3


def test_empty_and_unchanged_revisions_are_recorded_and_skipped(cai: Constitution) -> None:
    model = get_model("fake/lazy", outputs=_scripted(["   ", UNSAFE]))
    record = Critic(model, cai).run_sync(PROMPT, UNSAFE, prompt_id="q2")
    assert [r["revision"] for r in record.metadata["rounds"]] == ["empty", "unchanged"]
    assert record.revisions == ["", UNSAFE]
    assert record.messages[-1]["content"] == UNSAFE


def test_a_failed_call_stops_the_rounds_and_is_recorded(minimal: Constitution) -> None:
    model = get_model("fake/down", outputs=["x"], fail=[BackendError("server unavailable")])
    record = Critic(model, minimal).run_sync(PROMPT, UNSAFE, prompt_id="q3")
    assert "server unavailable" in record.metadata["error"]
    assert record.critiques == [] and record.messages[-1]["content"] == UNSAFE


def test_a_revision_that_copies_the_worked_example_is_not_adopted_and_is_counted(
    cai: Constitution,
) -> None:
    example = cai.few_shot.for_stage("revision")[0][-1]["content"]
    copied = example.replace("here\nis", "here is").upper()  # case and spacing do not hide it
    model = get_model("fake/copier", outputs=_scripted([copied, "Please leave his car alone."]))
    record = Critic(model, cai).run_sync(PROMPT, UNSAFE, prompt_id="q4")
    assert [r["revision"] for r in record.metadata["rounds"]] == ["copied example", "ok"]
    # The second round revised the policy's answer, not the copy.
    assert UNSAFE in model.backend.calls[2].conversation[-1]["content"]
    assert record.messages[-1]["content"] == "Please leave his car alone."
    lazy = Critic(get_model("fake/lazy", outputs=_scripted(["   ", UNSAFE])), cai).run_sync(
        PROMPT, UNSAFE, prompt_id="q5"
    )
    assert revision_counts([record, lazy]) == {
        "records": 2,
        "revised": 1,
        "unchanged": 1,
        "rounds_adopted": 1,
        "rounds_unchanged": 1,
        "rounds_empty": 1,
        "rounds_copied_example": 1,
        "rounds_other": 0,
    }


def test_a_revision_on_the_same_topic_is_not_a_copy(cai: Constitution) -> None:
    example = cai.few_shot.for_stage("revision")[0][-1]["content"]
    own = "I can't help with harming the dog. Ask your neighbour to keep it inside at night."
    assert not copies_example(own, [example])
    assert copies_example(example, [example])
