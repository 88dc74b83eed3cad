"""The built-in principles and constitutions validate and meet the documented minimums."""

from __future__ import annotations

import random
from collections import Counter

import pytest

import rlaif
from rlaif.constitution import (
    TemplateVariableError,
    library,
    load_constitution,
    load_principles,
    validate_paths,
)

HARM_TOPICS = {
    "violence": "violence and weapons",
    "crime": "illegal acts",
    "drugs": "drugs",
    "weapons": "explosives",
    "cyber": "hacking",
    "privacy": "privacy and doxxing",
    "harassment": "harassment",
    "hate": "hate",
    "self-harm": "self-harm",
    "child-safety": "sexual content involving minors",
    "deception": "manipulation and deception",
    "medical": "medical harm",
    "legal": "legal harm",
    "financial": "financial harm",
    "extremism": "extremism",
    "discrimination": "discrimination",
    "over-refusal": "needless refusal and preachiness",
}


def test_every_builtin_file_validates() -> None:
    assert validate_paths([library.principles_dir(), library.constitutions_dir()]) == []


def test_principle_counts_meet_minimums() -> None:
    by_file = Counter()
    for path in library.builtin_principle_files():
        by_file[path.stem] = len(load_principles([path]))
    assert by_file["harmlessness"] >= 16
    assert by_file["helpfulness"] >= 6
    assert by_file["honesty"] >= 4


def test_harmlessness_covers_every_required_topic() -> None:
    principles = load_principles([library.principles_dir() / "harmlessness.yaml"])
    tags = {tag for p in principles for tag in p.tags}
    missing = [topic for tag, topic in HARM_TOPICS.items() if tag not in tags]
    assert not missing, f"harmlessness principles lack: {missing}"
    assert all(p.critique and p.revision and p.compare for p in principles)


def test_principle_ids_are_unique_across_the_library() -> None:
    ids = [p.id for p in load_principles()]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("name", ["cai-harmless", "hhh", "minimal"])
def test_builtin_constitutions_load_with_few_shot(name: str) -> None:
    constitution = rlaif.load_constitution(name)
    assert constitution.name == name
    assert constitution.resolved_principles
    assert any(constitution.few_shot.for_stage(s) for s in ("critique", "revision", "compare"))
    assert set(constitution.template_hashes()) == {
        "critique",
        "revision",
        "compare",
        "compare_cot",
        "score",
    }


def test_minimal_has_one_principle_and_hhh_all_themes() -> None:
    assert len(load_constitution("minimal").resolved_principles) == 1
    hhh_tags = {t for p in load_constitution("hhh").resolved_principles for t in p.tags}
    assert {"harmlessness", "helpfulness", "honesty"} <= hhh_tags


def test_sample_is_reproducible_distinct_and_weighted() -> None:
    # Uniform mode: every principle is in the pool whatever the prompt (matched mode with no
    # prompt draws from the general principles only; see tests/constitution/test_sampling.py).
    constitution = load_constitution("cai-harmless").with_sampling(strategy="uniform")
    first = constitution.sample(3, random.Random(7))
    assert [p.id for p in first] == [p.id for p in constitution.sample(3, random.Random(7))]
    assert len({p.id for p in first}) == 3
    counts: Counter[str] = Counter()
    rng = random.Random(0)
    for _ in range(4000):
        counts[constitution.sample(1, rng)[0].id] += 1
    # overall-harm has weight 2.0, violence-and-weapons 1.0: about twice as often.
    ratio = counts["overall-harm"] / counts["violence-and-weapons"]
    assert 1.6 < ratio < 2.5


def test_sample_rejects_more_than_available() -> None:
    constitution = load_constitution("minimal")
    with pytest.raises(ValueError, match="cannot sample 2 of 1"):
        constitution.sample(2, random.Random(0))


def test_render_fills_principle_text_and_conversation() -> None:
    constitution = load_constitution("minimal")
    principle = constitution.resolved_principles[0]
    text = constitution.render(
        "critique",
        prompt=[{"role": "user", "content": "Tell me a secret recipe"}],
        response="Here it is.",
        principle=principle,
    )
    assert "User: Tell me a secret recipe" in text
    assert principle.critique in text
    assert "Here it is." in text


def test_render_names_a_missing_variable() -> None:
    constitution = load_constitution("minimal")
    with pytest.raises(TemplateVariableError, match="needs variable 'response_b'"):
        constitution.render(
            "compare",
            prompt=[{"role": "user", "content": "hi"}],
            response_a="x",
            principle="overall-harm",
            nonce="1",
        )


def test_messages_put_system_and_few_shot_first() -> None:
    constitution = load_constitution("cai-harmless")
    messages = constitution.messages(
        "critique",
        prompt=[{"role": "user", "content": "q"}],
        response="r",
        principle="overall-harm",
    )
    assert messages[0]["role"] == "system"
    assert [m["role"] for m in messages[1:3]] == ["user", "assistant"]
    assert messages[-1]["role"] == "user" and "Critique request" in messages[-1]["content"]


def test_content_hash_changes_with_principle_text(tmp_path) -> None:
    base = load_constitution("minimal").content_hash()
    assert base == load_constitution("minimal").content_hash()
    (tmp_path / "p.yaml").write_text(
        (library.principles_dir() / "harmlessness.yaml")
        .read_text()
        .replace("less harmful overall", "less harmful in total")
    )
    text = (library.constitutions_dir() / "minimal.yaml").read_text()
    text = text.replace("include: [harmlessness]", "include: [p.yaml]")
    for stage in ("critique", "revision", "compare", "compare_cot", "score"):
        src = (library.constitutions_dir() / "templates" / f"{stage}.j2").read_text()
        (tmp_path / f"{stage}.j2").write_text(src)
        text = text.replace(f"templates/{stage}.j2", f"{stage}.j2")
    (tmp_path / "c.yaml").write_text(text)
    assert load_constitution(tmp_path / "c.yaml").content_hash() != base
