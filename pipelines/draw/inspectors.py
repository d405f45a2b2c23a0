"""The draw of inspectors: at least two per task, at random, under the avoidance rules.

Rules, in the order they are applied (and reported):
1. district: the inspector belongs to the entity's district bureau (`same_district`, optional);
2. expertise: the inspector's 专业领域 covers the inspection item;
3. station (所所交叉): the inspector's station town is not the entity's town;
4. last inspection: not an inspector of the entity's last inspection;
5. declared conflict (回避, 行政处罚法 art. 43): no declared interest in the entity;
6. workload cap: fewer than `workload_cap` tasks in this plan so far.

Method: randomised greedy, least loaded first. Tasks are served those with the fewest eligible
inspectors first (ties in random order), so that scarce specialists are not used up by tasks
that had plenty of choice; each task gets the `per_task` eligible inspectors with the fewest
tasks so far, ties broken at random. If the workload cap leaves some task unserved, the pass is
repeated with the unserved tasks first (at most RETRIES times): a different order, never a
relaxed rule. On the 100,000-entity benchmark city this reached the max-flow bound. Within a
pool of interchangeable inspectors the loads never differ by more than one, and every choice
among equally loaded inspectors is a uniform random draw, which is what 双随机 asks of the
inspector side. A min-cost flow (e.g. as a linear programme for scipy's HiGHS) would balance
loads exactly across overlapping pools, but over 100,000 task slots it costs far more time, its
pick among the many optimal solutions is not a uniform random draw, and it is harder to explain
to an auditor.

Impossible tasks are never relaxed: they get no inspectors and are returned as `Infeasible`
records naming the rule that removed the last candidates, with the candidate count after each
rule. A caveat of any greedy method: a workload-cap failure may depend on the order in which
tasks were served, so such a report names the cap as the rule and shows how many candidates the
other rules had left (raising the cap or the roster is then the remedy, not reordering by hand).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import maximum_flow

from pipelines.draw.eligible import INSPECTOR_SEPARATOR, DrawInputError
from pipelines.draw.policy import AssignmentRules

ROSTER_COLUMNS = ("inspector_id", "station_town", "district", "expertise")
RETRIES = 3  # extra passes that serve the previous pass's unserved tasks first
EXPERTISE_SEPARATORS = re.compile(r"[；;、,，]")


@dataclass(frozen=True)
class Infeasible:
    """A task no assignment can serve: `rule` removed the last candidates; `funnel` gives the
    candidates left after each rule, starting from the whole roster (the workload step counts
    the loads at the end of the draw)."""

    task_id: str
    uscc: str
    rule: str
    needed: int
    funnel: tuple[tuple[str, int], ...]

    def message(self) -> str:
        steps = " → ".join(f"{rule} {count}" for rule, count in self.funnel)
        return f"task {self.task_id} ({self.uscc}): {self.rule} left fewer than {self.needed} inspectors ({steps})"


@dataclass(frozen=True)
class Assignment:
    """`frame`: task_id, inspector_1 .. inspector_k (feasible tasks only); `loads`: tasks per
    inspector id (every roster member, zeros included); `infeasible`: the tasks left unserved;
    `fillable_slots`: when some are, the most inspector slots any assignment could fill under
    the same rules (a max-flow bound; the plan needs tasks × per_task)."""

    frame: pd.DataFrame
    loads: pd.Series
    infeasible: tuple[Infeasible, ...]
    fillable_slots: int | None = None


def normalise_roster(roster: pd.DataFrame) -> pd.DataFrame:
    """The roster's columns the draw uses, as text, sorted by inspector id (ids unique)."""
    missing = [c for c in ROSTER_COLUMNS if c not in roster.columns]
    if missing:
        raise DrawInputError(f"inspector roster: missing column(s) {missing}, expected {list(ROSTER_COLUMNS)}")
    out = roster.loc[:, list(ROSTER_COLUMNS)].fillna("").astype(str)
    out = out.sort_values("inspector_id", kind="stable").reset_index(drop=True)
    dup = out["inspector_id"].duplicated()
    if dup.any():
        raise DrawInputError(
            f"inspector roster: inspector_id expected unique, got {out.loc[dup, 'inspector_id'].iat[0]!r} twice"
        )
    return out


def normalise_conflicts(conflicts: pd.DataFrame) -> pd.DataFrame:
    """Declared conflicts as unique (inspector_id, uscc) text pairs, sorted."""
    missing = [c for c in ("inspector_id", "uscc") if c not in conflicts.columns]
    if missing:
        raise DrawInputError(f"inspector conflicts: missing column(s) {missing}, expected inspector_id and uscc")
    pairs = conflicts.loc[:, ["inspector_id", "uscc"]].dropna().astype(str).drop_duplicates()
    return pairs.sort_values(["inspector_id", "uscc"], kind="stable").reset_index(drop=True)


class _Roster:
    """Integer-coded roster: towns as codes, pools of candidate positions per (district, expertise, town)."""

    def __init__(self, roster: pd.DataFrame, rules: AssignmentRules) -> None:
        self.ids = roster["inspector_id"].to_numpy(dtype=object)
        self.position = {str(i): k for k, i in enumerate(self.ids)}
        self.district = roster["district"].to_numpy(dtype=object)
        self.town = roster["station_town"].to_numpy(dtype=object)
        self.skills = [
            frozenset(s.strip() for s in EXPERTISE_SEPARATORS.split(e) if s.strip()) for e in roster["expertise"]
        ]
        self.rules = rules
        self._pools: dict[tuple[str, str, str], np.ndarray] = {}

    def expertise_for(self, item: str) -> str:
        if item not in self.rules.item_expertise:
            raise DrawInputError(
                f"inspection item {item!r} has no expertise in the rules; expected one of "
                f"{sorted(self.rules.item_expertise)}"
            )
        return self.rules.item_expertise[item]

    def funnel(self, district: str, item: str, town: str) -> list[tuple[str, np.ndarray]]:
        """Candidates after each of the first three rules (the ones shared by a whole pool)."""
        everyone = np.arange(len(self.ids))
        steps = [("roster", everyone)]
        if self.rules.same_district:
            steps.append((f"district {district}", everyone[self.district == district]))
        skill = self.expertise_for(item)
        has = np.fromiter((skill in s for s in self.skills), dtype=bool, count=len(self.ids))
        steps.append((f"expertise {skill}", steps[-1][1][has[steps[-1][1]]]))
        steps.append((f"station not in {town} (所所交叉)", steps[-1][1][self.town[steps[-1][1]] != town]))
        return steps

    def pool(self, district: str, item: str, town: str) -> np.ndarray:
        key = (district, item, town)
        if key not in self._pools:
            self._pools[key] = self.funnel(district, item, town)[-1][1]
        return self._pools[key]


def _exclusions(tasks: pd.DataFrame, conflicts: pd.DataFrame, roster: _Roster) -> tuple[dict[int, np.ndarray], ...]:
    """Per task position: roster positions of its last inspectors, and of declared conflicts."""
    last = tasks["last_inspectors"].str.split(INSPECTOR_SEPARATOR).explode()
    last_pos = last.map(roster.position)
    known = last_pos.notna().to_numpy()
    by_task = pd.DataFrame({"task": np.arange(len(tasks)), "uscc": tasks["uscc"].to_numpy()})
    pairs = by_task.merge(conflicts, on="uscc")
    conflict_pos = pairs["inspector_id"].map(roster.position)
    has = conflict_pos.notna().to_numpy()
    return (
        _by_task(last_pos.index.to_numpy()[known], last_pos.to_numpy()[known]),
        _by_task(pairs["task"].to_numpy()[has], conflict_pos.to_numpy()[has]),
    )


def _by_task(task: np.ndarray, position: np.ndarray) -> dict[int, np.ndarray]:
    """Group roster positions by task position."""
    if len(task) == 0:
        return {}
    order = np.argsort(task, kind="stable")
    task, position = task[order].astype(np.int64), position[order].astype(np.int64)
    keys, starts = np.unique(task, return_index=True)
    return {int(k): p for k, p in zip(keys, np.split(position, starts[1:]), strict=True)}


def assign_inspectors(
    tasks: pd.DataFrame,
    roster: pd.DataFrame,
    conflicts: pd.DataFrame,
    rules: AssignmentRules,
    rng: np.random.Generator,
) -> Assignment:
    """Inspectors for each task (columns task_id, uscc, district, town, item, last_inspectors).

    `roster` and `conflicts` are normalised (`normalise_roster`, `normalise_conflicts`)."""
    coded = _Roster(roster, rules)
    tasks = tasks.reset_index(drop=True)
    last, conflict = _exclusions(tasks, conflicts, coded)
    district, town, item = (tasks[c].to_numpy(dtype=object) for c in ("district", "town", "item"))
    candidates = [
        _without(_without(coded.pool(district[t], item[t], town[t]), last.get(t)), conflict.get(t))
        for t in range(len(tasks))
    ]
    sizes = np.fromiter((len(c) for c in candidates), dtype=np.int64, count=len(candidates))
    order = np.lexsort((rng.random(len(tasks)), sizes))  # fewest candidates first, ties at random
    for _ in range(1 + RETRIES):
        picks, load, failed = _greedy(candidates, order, rules, rng, len(coded.ids))
        if len(failed) == 0:
            break
        order = np.concatenate((failed, order[~np.isin(order, failed)]))  # serve the failures first
    explained = [_explain(tasks, t, coded, last, conflict, load) for t in sorted(failed)]
    result = _result(tasks, picks, load, coded, explained)
    if explained:
        bound = max_fillable_slots(candidates, rules.per_task, rules.workload_cap, len(coded.ids))
        result = Assignment(result.frame, result.loads, result.infeasible, fillable_slots=bound)
    return result


def max_fillable_slots(candidates: list[np.ndarray], per_task: int, workload_cap: int, roster_size: int) -> int:
    """The most inspector slots any assignment can fill: a maximum flow source → task (per_task)
    → eligible inspector (1, so the inspectors of a task are distinct) → sink (workload_cap).

    Equal to tasks × per_task exactly when an assignment serving every task exists (flows are
    integral), so it tells "the roster cannot do it" from "the greedy order could not"."""
    n_tasks = len(candidates)
    sink = 1 + n_tasks + roster_size
    task_nodes = np.repeat(1 + np.arange(n_tasks), [len(c) for c in candidates])
    inspector_nodes = 1 + n_tasks + np.concatenate([*candidates, np.array([], dtype=np.int64)])
    tails = np.concatenate((np.zeros(n_tasks, dtype=np.int64), task_nodes, 1 + n_tasks + np.arange(roster_size)))
    heads = np.concatenate((1 + np.arange(n_tasks), inspector_nodes, np.full(roster_size, sink)))
    capacity = np.concatenate(
        (np.full(n_tasks, per_task), np.ones(len(task_nodes), dtype=np.int64), np.full(roster_size, workload_cap))
    ).astype(np.int32)
    graph = csr_matrix((capacity, (tails, heads)), shape=(sink + 1, sink + 1))
    return int(maximum_flow(graph, 0, sink).flow_value)


def _without(cand: np.ndarray, banned: np.ndarray | None) -> np.ndarray:
    return cand if banned is None else cand[~np.isin(cand, banned)]


def _greedy(
    candidates: list[np.ndarray], order: np.ndarray, rules: AssignmentRules, rng: np.random.Generator, roster_size: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One pass in `order`: (picks per task, −1 if unserved; loads; unserved tasks in order)."""
    k = rules.per_task
    load = np.zeros(roster_size, dtype=np.int64)
    picks = np.full((len(candidates), k), -1, dtype=np.int64)
    failed = []
    # A loop over the drawn tasks (tens of thousands, not the million-row list): each choice
    # depends on the loads left by the previous ones.
    for t in order:
        cand = candidates[t]
        cand = cand[load[cand] < rules.workload_cap]
        if len(cand) < k:
            failed.append(int(t))
            continue
        # Least loaded first; the random fraction breaks ties uniformly and never outranks a load.
        chosen = cand[np.argsort(load[cand] + rng.random(len(cand)), kind="stable")[:k]]
        picks[t] = chosen
        load[chosen] += 1
    return picks, load, np.array(failed, dtype=np.int64)


def _explain(
    tasks: pd.DataFrame,
    t: int,
    coded: _Roster,
    last: Mapping[int, np.ndarray],
    conflict: Mapping[int, np.ndarray],
    load: np.ndarray,
) -> Infeasible:
    row = tasks.iloc[t]
    steps = coded.funnel(row["district"], row["item"], row["town"])
    cand = steps[-1][1]
    for rule, banned in (("not last inspectors", last.get(t)), ("no declared conflict", conflict.get(t))):
        cand = cand[~np.isin(cand, banned)] if banned is not None else cand
        steps.append((rule, cand))
    steps.append((f"workload cap {coded.rules.workload_cap}", cand[load[cand] < coded.rules.workload_cap]))
    k = coded.rules.per_task
    rule = next(name for name, c in steps if len(c) < k)
    return Infeasible(
        task_id=str(row["task_id"]),
        uscc=str(row["uscc"]),
        rule=rule,
        needed=k,
        funnel=tuple((name, len(c)) for name, c in steps),
    )


def _result(
    tasks: pd.DataFrame, picks: np.ndarray, load: np.ndarray, coded: _Roster, infeasible: list[Infeasible]
) -> Assignment:
    served = picks[:, 0] >= 0
    frame = pd.DataFrame({"task_id": tasks.loc[served, "task_id"].to_numpy(dtype=object)})
    for slot in range(picks.shape[1]):
        frame[f"inspector_{slot + 1}"] = coded.ids[picks[served, slot]]
    loads = pd.Series(load, index=pd.Index(coded.ids, name="inspector_id"), name="tasks")
    return Assignment(frame=frame, loads=loads, infeasible=tuple(infeasible))
