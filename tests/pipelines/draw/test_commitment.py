from __future__ import annotations

import hashlib
import struct

import numpy as np
import pandas as pd
import pytest

from pipelines.draw.commitment import CanonicalFormError, column_digest, derive_seed
from pipelines.draw.plan import PlanInputs, prepare
from tests.pipelines.draw.factories import plan_arguments

COMMITMENT = "ab" * 32


def commitment_of(**changes: object) -> str:
    """The commitment of the small plan, with some arguments replaced."""
    return prepare(PlanInputs.build(**(plan_arguments() | changes))).commitment


def test_numbers_have_one_canonical_form() -> None:
    assert column_digest(pd.Series([0.0, np.nan])) == column_digest(pd.Series([-0.0, float("nan")]))
    assert column_digest(pd.Series([0.1])) != column_digest(pd.Series([np.nextafter(0.1, 1.0)]))


def test_text_holding_the_separator_is_refused() -> None:
    with pytest.raises(CanonicalFormError, match="expected without U\\+001F"):
        column_digest(pd.Series(["甲\x1f乙"], name="name"))


def test_the_seed_depends_on_commitment_and_public_value() -> None:
    seed = derive_seed(COMMITMENT, "2025-07-05 双色球 03 11 17 22 28 31 + 09")
    assert seed == derive_seed(COMMITMENT, "2025-07-05 双色球 03 11 17 22 28 31 + 09")
    assert seed != derive_seed(COMMITMENT, "2025-07-05 双色球 03 11 17 22 28 31 + 10")
    assert seed != derive_seed("cd" * 32, "2025-07-05 双色球 03 11 17 22 28 31 + 09")
    assert 0 <= seed < 2**256


@pytest.mark.parametrize(("commitment", "value"), [("xyz", "a"), (COMMITMENT, "  ")])
def test_a_bad_commitment_or_empty_public_value_is_refused(commitment: str, value: str) -> None:
    with pytest.raises(ValueError, match="expected"):
        derive_seed(commitment, value)


def test_row_order_does_not_change_the_commitment() -> None:
    args = plan_arguments()
    shuffled = {
        "eligible": args["eligible"].sample(frac=1.0, random_state=3),
        "roster": args["roster"].iloc[::-1],
    }
    assert commitment_of(**shuffled) == commitment_of()


def test_any_changed_input_changes_the_commitment() -> None:
    base = commitment_of()
    eligible = plan_arguments()["eligible"]
    eligible.loc[5, "risk"] += 0.01
    roster = plan_arguments()["roster"]
    roster.loc[3, "expertise"] = "计量"
    changed = {
        "risk": commitment_of(eligible=eligible),
        "roster": commitment_of(roster=roster),
        "version": commitment_of(versions={"model": "violation-lgbm@4", "scorecard": "credit-yaml@2025.1"}),
        "conflicts": commitment_of(conflicts=pd.DataFrame({"inspector_id": ["ZF0005"], "uscc": ["X"]})),
    }
    assert all(c != base for c in changed.values()), changed
    assert len(set(changed.values())) == len(changed)


def test_the_canonical_form_is_what_the_docstring_says() -> None:
    # An auditor's independent implementation of the scheme, column by column.
    def sha(data: bytes) -> str:
        return hashlib.sha256(data).hexdigest()

    assert column_digest(pd.Series(["甲", "", "乙"])) == ("text", sha("甲\x1f\x1f乙".encode()))
    assert column_digest(pd.Series([0.5, -0.0])) == ("float64", sha(struct.pack(">dd", 0.5, 0.0)))
    dates = pd.Series(pd.to_datetime(["2025-07-01", None]))
    assert column_digest(dates) == ("date", sha(b"2025-07-01\x1f"))
