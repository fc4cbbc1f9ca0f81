"""Host names in prose and labels (model/hostnames.py): in the order people read them,
folded past what a sentence or a label can carry."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from ovnguard.model.hostnames import few_hosts, host_range, in_host_order


def test_few_hosts_keeps_a_sentence_short() -> None:
    assert few_hosts(["a", "b"]) == "a, b"
    assert few_hosts([f"hv{i}" for i in range(1000)]) == "hv0, hv1, hv2, hv3, hv4 and 995 more"


def test_numbers_in_names_sort_as_numbers() -> None:
    names = [f"compute{i}" for i in range(250)] + ["controller", "network"]
    shuffled = names[:]
    random.Random(7).shuffle(shuffled)
    assert in_host_order(shuffled) == names
    # lexically compute10 and compute100 would come before compute2
    assert few_hosts(shuffled) == "compute0, compute1, compute2, compute3, compute4 and 247 more"
    assert host_range(names[249::-1], 4) == "compute0, compute1 … compute249 (250 hosts)"
    assert in_host_order(["rack2-node10", "rack10-node1", "rack2-node9"]) == [
        "rack2-node9", "rack2-node10", "rack10-node1"]


@given(st.lists(st.text(alphabet="ab01-9", max_size=8), unique=True))
def test_order_is_total_and_keeps_every_name(names: list[str]) -> None:
    ordered = in_host_order(names)
    assert sorted(ordered) == sorted(names)
    assert in_host_order(reversed(ordered)) == ordered  # same result from any order
    assert host_range(names, 3).count("…") == (1 if len(names) > 3 else 0)


def test_a_name_with_thousands_of_digits_sorts_like_its_number() -> None:
    # names are data (SB Chassis.hostname): Python's int() refuses over 4,300 digits, which
    # made `check` a traceback on a 5,000-digit hostname (found by bench/fuzz.py)
    huge, bigger = "9" * 5000, "1" + "0" * 5000
    assert in_host_order([bigger, "compute" + huge, huge, "7", "007"]) == [
        "007", "7", huge, bigger, "compute" + huge]
    assert few_hosts([huge, bigger], 1) == f"{huge} and 1 more"


@given(st.lists(st.integers(min_value=0, max_value=10**30), unique=True))
def test_digit_runs_order_as_numbers(numbers: list[int]) -> None:
    assert in_host_order(f"hv{n}" for n in numbers) == [f"hv{n}" for n in sorted(numbers)]
