"""Constitution.sample: matched mode draws from the principles that fit the prompt; uniform mode
draws from all of them exactly as before ``applies_to`` existed."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pytest
from pydantic import ValidationError

from rlaif.constitution import (
    Constitution,
    NoApplicablePrincipleError,
    load_constitution,
)

STAB = [
    {
        "role": "user",
        "content": "What's the most effective place to stab someone so they can't fight back?",
    }
]
BENIGN = [{"role": "user", "content": "How do I kill a Python process that is hanging?"}]
NEW_GENERAL = [
    "ethics-overall",
    "care-for-everyone-affected",
    "thoughtful-person-test",
    "no-help-with-wrongdoing",
    "respectful-and-not-condescending",
    "safety-of-the-user",
]
TEMPLATES = """\
templates:
  critique: "{{ conversation }} {{ response }} {{ request }}"
  revision: "{{ conversation }} {{ response }} {{ critique }} {{ request }}"
  compare: "{{ conversation }} {{ response_a }} {{ response_b }} {{ question }}"
  compare_cot: "{{ conversation }} {{ response_a }} {{ response_b }} {{ question }} Verdict"
"""


@pytest.fixture(scope="module")
def cai() -> Constitution:
    return load_constitution("cai-harmless")


def general_ids(constitution: Constitution) -> set[str]:
    return {p.id for p in constitution.resolved_principles if p.is_general}


def write_constitution(tmp_path: Path, body: str, principles: str | None = None) -> Path:
    if principles is not None:
        (tmp_path / "p.yaml").write_text(principles, encoding="utf-8")
    path = tmp_path / "c.yaml"
    path.write_text("name: test\n" + body + TEMPLATES, encoding="utf-8")
    return path


def test_cai_harmless_uses_matched_sampling(cai: Constitution) -> None:
    assert cai.sampling.strategy == "matched"
    assert len(general_ids(cai)) >= 6


def test_the_stab_prompt_is_never_judged_or_revised_under_minors(cai: Constitution) -> None:
    allowed = general_ids(cai) | {"violence-and-weapons"}
    assert {p.id for p in cai.pool("compare", prompt=STAB)} == allowed
    seen: Counter[str] = Counter()
    for seed in range(300):
        for stage, k in (("compare", 2), ("critique", 2)):
            drawn = cai.sample(k, random.Random(seed), stage=stage, prompt=STAB)
            assert len(drawn) == k and {p.id for p in drawn} <= allowed
            seen.update(p.id for p in drawn)
    assert "minors-sexual-content" not in seen
    assert seen["violence-and-weapons"] > 0


def test_a_privacy_prompt_gets_privacy_and_general_never_violence(cai: Constitution) -> None:
    expected = general_ids(cai) | {"privacy-and-doxxing"}
    for prompt in (STAB, None):
        pool = cai.pool("compare", prompt=prompt, category="privacy-and-doxxing")
        assert {p.id for p in pool} == expected
    drawn = Counter(
        p.id
        for seed in range(300)
        for p in cai.sample(2, random.Random(seed), prompt=STAB, category="privacy-and-doxxing")
    )
    assert set(drawn) <= expected and drawn["privacy-and-doxxing"] > 0
    assert "violence-and-weapons" not in drawn


@pytest.mark.parametrize(
    ("prompt", "category"), [(BENIGN, "benign-lookalike"), (STAB, "benign"), (BENIGN, None)]
)
def test_benign_prompts_get_only_general_principles(
    cai: Constitution, prompt: list[dict[str, str]], category: str | None
) -> None:
    general = general_ids(cai)
    assert {p.id for p in cai.pool("critique", prompt=prompt, category=category)} == general
    for seed in range(100):
        drawn = cai.sample(2, random.Random(seed), prompt=prompt, category=category)
        assert {p.id for p in drawn} <= general


def test_callers_that_give_no_prompt_get_general_principles(cai: Constitution) -> None:
    assert {p.id for p in cai.pool()} == general_ids(cai)
    assert {p.id for p in cai.sample(3, random.Random(1))} <= general_ids(cai)


def test_matched_sampling_keeps_the_weights(cai: Constitution) -> None:
    counts: Counter[str] = Counter()
    rng = random.Random(0)
    for _ in range(6000):
        counts[cai.sample(1, rng, prompt=STAB)[0].id] += 1
    # overall-harm has weight 2.0, violence-and-weapons 1.0.
    assert 1.6 < counts["overall-harm"] / counts["violence-and-weapons"] < 2.5


def test_uniform_mode_reproduces_the_draws_before_applies_to(tmp_path: Path) -> None:
    # The harmlessness library before the general principles were added, in uniform mode.
    # Expected ids were drawn with the previous code (git HEAD before this change).
    path = write_constitution(
        tmp_path,
        "principles:\n  include: [harmlessness]\n"
        f"  exclude: [{', '.join(NEW_GENERAL)}]\n"
        "sampling: {per_example: 2, seed: 0, weighted: true, strategy: uniform}\n",
    )
    old = load_constitution(path)
    assert len(old.resolved_principles) == 19
    compare = [[p.id for p in old.sample(2, random.Random(s), prompt=STAB)] for s in range(4)]
    assert compare == [
        ["helpful-not-preachy", "minors-sexual-content"],
        ["helpful-not-preachy", "risky-stunts"],
        ["extremism", "overall-harm"],
        ["minors-sexual-content", "helpful-not-preachy"],
    ]
    critique = [
        [p.id for p in old.sample(3, random.Random(s), stage="critique", category="benign")]
        for s in range(3)
    ]
    assert critique == [
        ["helpful-not-preachy", "minors-sexual-content", "overall-harm"],
        ["helpful-not-preachy", "risky-stunts", "minors-sexual-content"],
        ["extremism", "overall-harm", "discrimination"],
    ]


def test_uniform_mode_ignores_the_prompt(cai: Constitution) -> None:
    uniform = cai.with_sampling(strategy="uniform")
    assert uniform.sampling.strategy == "uniform" and cai.sampling.strategy == "matched"
    assert uniform.pool("compare", prompt=STAB) == uniform.eligible("compare")
    for seed in range(20):
        with_prompt = uniform.sample(2, random.Random(seed), prompt=STAB, category="benign")
        without = uniform.sample(2, random.Random(seed))
        assert with_prompt == without
    with pytest.raises(ValidationError):
        cai.with_sampling(strategy="by-magic")


def test_constitutions_without_category_principles_draw_the_same_in_both_modes() -> None:
    hhh = load_constitution("hhh")
    helpful = [p for p in hhh.resolved_principles if "helpfulness" in p.tags]
    assert helpful and all(p.is_general for p in helpful)
    minimal = load_constitution("minimal")
    uniform = minimal.with_sampling(strategy="uniform")
    for seed in range(10):
        assert minimal.sample(1, random.Random(seed), prompt=STAB) == uniform.sample(
            1, random.Random(seed), prompt=STAB
        )


CATEGORY_ONLY = """\
principles:
  - id: anything
    title: Anything
    description: d
    critique: c
    revision: r
    compare: Which is better?
    tags: [general]
  - id: violence
    title: Violence
    description: d
    critique: c
    revision: r
    compare: Which is less violent?
    applies_to:
      keywords: ['stab\\w* {person}']
  - id: privacy
    title: Privacy
    description: d
    critique: c
    revision: r
    compare: Which protects privacy?
    applies_to:
      categories: [privacy-and-doxxing]
      keywords: ['home address']
"""


def test_fewer_fitting_principles_than_asked_returns_those_that_fit(tmp_path: Path) -> None:
    path = write_constitution(
        tmp_path, "principles:\n  include: [p.yaml]\nsampling: {per_example: 3}\n", CATEGORY_ONLY
    )
    constitution = load_constitution(path)
    drawn = constitution.sample(3, random.Random(0), prompt=STAB)
    assert sorted(p.id for p in drawn) == ["anything", "violence"]
    assert [p.id for p in constitution.sample(3, random.Random(0), category="benign")] == [
        "anything"
    ]
    with pytest.raises(ValueError, match="cannot sample 4 of 3"):
        constitution.sample(4, random.Random(0), prompt=STAB)


def test_no_general_principle_and_no_match_is_a_clear_error(tmp_path: Path) -> None:
    path = write_constitution(
        tmp_path,
        "principles:\n  include: [p.yaml]\n  exclude: [anything]\n",
        CATEGORY_ONLY,
    )
    constitution = load_constitution(path)
    assert [p.id for p in constitution.sample(1, random.Random(0), prompt=STAB)] == ["violence"]
    assert [p.id for p in constitution.sample(1, category="privacy-and-doxxing")] == ["privacy"]
    with pytest.raises(NoApplicablePrincipleError, match="no general principle") as error:
        constitution.sample(1, random.Random(0), prompt=BENIGN)
    assert "sampling.strategy: uniform" in str(error.value)
    with pytest.raises(NoApplicablePrincipleError, match="category 'benign'"):
        constitution.sample(1, category="benign")
    uniform = constitution.with_sampling(strategy="uniform")
    assert len(uniform.sample(2, random.Random(0), prompt=BENIGN)) == 2
