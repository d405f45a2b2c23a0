import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from features.entity_id import (
    USCC_ALPHABET,
    is_valid_uscc,
    make_usccs,
    org_code_check_char,
    uscc_check_char,
    uscc_valid_mask,
)

# Codes published by the enterprises themselves (licences, annual reports, the public-notice system)
# and the worked example of GB 32100-2015.
PUBLIC_CODES = [
    "91350100M000100Y43",  # GB 32100-2015 example
    "914403001922038216",  # 华为技术有限公司
    "9144030071526726XG",  # 深圳市腾讯计算机系统有限公司
    "91110108551385082Q",  # 小米科技有限责任公司
]


@pytest.mark.parametrize("code", PUBLIC_CODES)
def test_public_codes_have_correct_check_character(code: str) -> None:
    assert is_valid_uscc(code)
    assert uscc_check_char(code[:17]) == code[17]


def test_organisation_code_check_characters_of_public_codes() -> None:
    # GB 11714: the organisation codes inside Huawei's and Tencent's credit codes.
    assert org_code_check_char("19220382") == "1"
    assert org_code_check_char("71526726") == "X"


@pytest.mark.parametrize(
    "code",
    [
        "914403001922038217",  # wrong check character
        "91440300192203821",  # 17 characters
        "91440300I922038216",  # I is not in the alphabet
        "",
        None,
    ],
)
def test_invalid_codes_are_rejected(code: object) -> None:
    assert not is_valid_uscc(code)


def test_vectorised_mask_agrees_with_scalar_check() -> None:
    codes = np.array([*PUBLIC_CODES, "914403001922038217", None, "abc", "９１３５０１００M000100Y43"], dtype=object)
    assert uscc_valid_mask(codes).tolist() == [is_valid_uscc(c) for c in codes]


def test_check_character_rejects_foreign_characters_with_a_message() -> None:
    with pytest.raises(ValueError, match="not in the GB 32100 alphabet"):
        uscc_check_char("9144030019220382I")


@given(body=st.integers(0, 10**8 - 1), position=st.integers(0, 17), shift=st.integers(1, 30))
def test_every_single_character_substitution_is_detected(body: int, position: int, shift: int) -> None:
    (code,) = make_usccs(np.array(["91"]), np.array(["440604"]), np.array([body]))
    assert is_valid_uscc(code)
    wrong = USCC_ALPHABET[(USCC_ALPHABET.index(code[position]) + shift) % 31]
    assert not is_valid_uscc(code[:position] + wrong + code[position + 1 :])
