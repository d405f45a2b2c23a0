from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from pipelines.draw.eligible import DrawInputError
from pipelines.draw.inspectors import assign_inspectors, max_fillable_slots, normalise_conflicts, normalise_roster
from pipelines.draw.policy import AssignmentRules
from pipelines.draw.sample import rng_from_seed
from tests.pipelines.draw.factories import roster_frame

NO_CONFLICTS = pd.DataFrame({"inspector_id": pd.Series(dtype=str), "uscc": pd.Series(dtype=str)})


def tasks_frame(
    n: int, town: str = "禅城区甲街道", district: str = "禅城区", item: str = "企业公示信息情况检查"
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "task_id": [f"T{i:03d}" for i in range(n)],
            "uscc": [f"91440600TEST{i:06d}" for i in range(n)],
            "district": district,
            "town": town,
            "item": item,
            "last_inspectors": "",
        }
    )


def assign(
    tasks: pd.DataFrame, roster: pd.DataFrame, conflicts: pd.DataFrame = NO_CONFLICTS, cap: int = 50, seed: int = 1
):
    rules = AssignmentRules(workload_cap=cap)
    return assign_inspectors(
        tasks, normalise_roster(roster), normalise_conflicts(conflicts), rules, rng_from_seed(seed)
    )


def test_every_rule_holds_for_every_assignment() -> None:
    roster = roster_frame(per_town=5)  # 禅城区: 甲 ZF0000-0004, 乙 ZF0005-0009; even k eat 食品安全
    tasks = pd.concat(
        [
            tasks_frame(20),
            tasks_frame(20, town="禅城区乙街道", item="食品经营行为检查").assign(task_id=lambda f: "F" + f["task_id"]),
        ]
    )
    tasks["last_inspectors"] = ["ZF0006;ZF0003"] * len(tasks)
    conflicts = pd.DataFrame({"inspector_id": ["ZF0005"], "uscc": [tasks["uscc"].iat[0]]})
    result = assign(tasks, roster, conflicts)
    assert result.infeasible == ()
    merged = result.frame.merge(tasks, on="task_id")
    station = roster.set_index("inspector_id")
    for col in ("inspector_1", "inspector_2"):
        who = station.loc[merged[col]]
        assert (who["district"].to_numpy() == merged["district"].to_numpy()).all()
        assert (who["station_town"].to_numpy() != merged["town"].to_numpy()).all()  # 所所交叉
        assert not merged[col].isin(["ZF0006", "ZF0003"]).any()  # last inspectors
        food = merged["item"] == "食品经营行为检查"
        assert who["expertise"].to_numpy()[food.to_numpy()].tolist() == ["登记注册；食品安全"] * int(food.sum())
    assert (merged["inspector_1"] != merged["inspector_2"]).all()
    first = merged.loc[merged["uscc"] == tasks["uscc"].iat[0], ["inspector_1", "inspector_2"]].to_numpy()
    assert "ZF0005" not in first


def test_loads_are_balanced_within_a_pool() -> None:
    # Tasks in a town without a station: all six inspectors of the district are interchangeable.
    result = assign(tasks_frame(31, town="禅城区丙街道"), roster_frame(per_town=3), cap=100)
    loads = result.loads[result.loads.index.str.slice(0, 6).isin([f"ZF000{i}" for i in range(6)])]
    assert loads.sum() == 62
    assert loads.max() - loads.min() <= 1


def test_the_draw_is_random_but_reproducible() -> None:
    tasks, roster = tasks_frame(10, town="禅城区丙街道"), roster_frame()
    first, again, other = (assign(tasks, roster, seed=s).frame for s in (4, 4, 5))
    pd.testing.assert_frame_equal(first, again)
    assert not first.equals(other)


@pytest.mark.parametrize(
    ("change", "rule"),
    [
        ("conflict", "no declared conflict"),
        ("last", "not last inspectors"),
        ("expertise", "expertise 特种设备"),
        ("cap", "workload cap 1"),
    ],
)
def test_an_impossible_task_names_the_rule(change: str, rule: str) -> None:
    roster = roster_frame(districts=("禅城区",), per_town=2)  # two inspectors at 乙 can serve 甲
    tasks = tasks_frame(2)
    conflicts = NO_CONFLICTS
    rules_cap = 50
    if change == "conflict":
        conflicts = pd.DataFrame({"inspector_id": ["ZF0002"], "uscc": [tasks["uscc"].iat[0]]})
    elif change == "last":
        tasks.loc[0, "last_inspectors"] = "ZF0003;ZF9999"
    elif change == "expertise":
        tasks.loc[0, "item"] = "特种设备安全检查"
    else:
        rules_cap = 1
    rules = AssignmentRules(
        workload_cap=rules_cap, item_expertise={"企业公示信息情况检查": "登记注册", "特种设备安全检查": "特种设备"}
    )
    result = assign_inspectors(tasks, normalise_roster(roster), normalise_conflicts(conflicts), rules, rng_from_seed(1))
    assert len(result.infeasible) == 1
    failure = result.infeasible[0]
    assert failure.rule == rule
    assert failure.task_id not in set(result.frame["task_id"])  # never partly served
    assert "所所交叉" in failure.message() and f"{rule} " in failure.message()


def test_an_item_without_expertise_is_refused() -> None:
    tasks = tasks_frame(1, item="未知检查")
    with pytest.raises(DrawInputError, match="has no expertise in the rules"):
        assign(tasks, roster_frame())


def test_a_duplicated_inspector_is_refused() -> None:
    roster = roster_frame()
    roster.loc[1, "inspector_id"] = roster.loc[0, "inspector_id"]
    with pytest.raises(DrawInputError, match="expected unique"):
        normalise_roster(roster)


def test_rules_require_two_inspectors() -> None:
    with pytest.raises(ValueError, match="greater than or equal to 2"):
        AssignmentRules(per_task=1, workload_cap=5)


def test_least_loaded_spreads_a_large_plan() -> None:
    rng = np.random.default_rng(0)
    towns = [f"禅城区{t}街道" for t in "甲乙"]
    tasks = tasks_frame(300).assign(town=rng.choice([*towns, "禅城区丙街道"], 300))
    loads = assign(tasks, roster_frame(districts=("禅城区",), per_town=5), cap=100).loads
    assert loads.sum() == 600
    assert loads.max() - loads.min() <= 3


@pytest.mark.slow
def test_equally_loaded_inspectors_are_equally_likely() -> None:
    # One task, six interchangeable inspectors: each should serve it in 2 of 6 draws.
    tasks = tasks_frame(1, town="禅城区丙街道")
    roster = normalise_roster(roster_frame(districts=("禅城区",), per_town=3))
    conflicts, rules, draws = normalise_conflicts(NO_CONFLICTS), AssignmentRules(workload_cap=5), 1_500
    counts = pd.Series(0, index=roster["inspector_id"])
    for seed in range(draws):
        row = assign_inspectors(tasks, roster, conflicts, rules, rng_from_seed(seed)).frame.iloc[0]
        counts[[row["inspector_1"], row["inspector_2"]]] += 1
    p = 2 / 6
    z = (counts - draws * p) / np.sqrt(draws * p * (1 - p))
    assert z.abs().max() < norm.isf(0.001 / (2 * len(counts))), z.to_dict()  # Bonferroni, 0.1% family level


def test_scarce_specialists_are_kept_for_the_tasks_that_need_them() -> None:
    # Only ZF0000 and ZF0001 know 食品安全, and the caps leave no slack: a registration task that
    # took a specialist would strand a food task. Serving the fewest-candidate tasks first avoids it.
    roster = pd.DataFrame(
        {
            "inspector_id": ["ZF0000", "ZF0001", "ZF0002", "ZF0003"],
            "station_town": "禅城区乙街道",
            "district": "禅城区",
            "expertise": ["食品安全；登记注册", "食品安全；登记注册", "登记注册", "登记注册"],
        }
    )
    tasks = pd.concat([tasks_frame(2), tasks_frame(2, item="食品经营行为检查").assign(task_id=["F1", "F2"])])
    for seed in range(30):
        result = assign(tasks, roster, cap=2, seed=seed)
        assert result.infeasible == (), seed
        food = result.frame[result.frame["task_id"].str.startswith("F")]
        assert set(food[["inspector_1", "inspector_2"]].to_numpy().ravel()) == {"ZF0000", "ZF0001"}


def test_the_max_flow_bound_counts_what_any_assignment_could_fill() -> None:
    # Task 0 may use inspectors {0, 1}, task 1 only {1}: two slots for task 0, one for task 1.
    candidates = [np.array([0, 1]), np.array([1])]
    assert max_fillable_slots(candidates, per_task=2, workload_cap=5, roster_size=3) == 3
    assert max_fillable_slots(candidates, per_task=2, workload_cap=1, roster_size=3) == 2  # inspector 1 once
    assert max_fillable_slots([np.array([0, 1, 2])] * 3, per_task=2, workload_cap=2, roster_size=3) == 6
