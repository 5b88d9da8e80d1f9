"""Verification codes: random, unambiguous, forgiving when typed back."""

from __future__ import annotations

import pytest

from socialcredit.reports.codes import ALPHABET, LENGTH, format_code, new_code, normalise_code


def test_new_codes_are_random_and_in_the_alphabet() -> None:
    codes = {new_code() for _ in range(1000)}
    assert len(codes) == 1000
    assert all(len(c) == LENGTH and set(c) <= set(ALPHABET) for c in codes)
    assert not set("ILOU") & set(ALPHABET)


def test_typed_back_with_the_usual_slips() -> None:
    code = "7K3Q0M1ZT4B8HWD9"
    assert format_code(code) == "7K3Q-0M1Z-T4B8-HWD9"
    for typed in (
        "7K3Q-0M1Z-T4B8-HWD9",
        "7k3q 0m1z t4b8 hwd9",
        "7K3QOMIZT4B8HWD9",
        "7K3Q0MLZT4B8HWD9",
    ):
        assert normalise_code(typed) == code


@pytest.mark.parametrize(
    "bad", ["", "7K3Q-0M1Z-T4B8", "7K3Q-0M1Z-T4B8-HWD9X", "7K3Q-0M1Z-T4B8-HWDU", "x" * 500]
)
def test_not_a_code(bad: str) -> None:
    assert normalise_code(bad) is None
