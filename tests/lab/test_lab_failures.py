"""How a lab reports hosts that failed to start (pure: no daemons)."""

from __future__ import annotations

import pytest

from ovnguard.errors import LabError
from ovnguard.i18n import _
from ovnguard.lab.lab import raise_first_failure

FAILED: list[tuple[str, BaseException]] = [
    ("compute1", LabError("ovsdb-server did not start")),
    ("compute2", OSError("no space left")),
    ("compute3", LabError("timed out")),
]


@pytest.mark.parametrize(
    ("message", "kind", "expected"),
    [
        # Lab's and DataplaneLab's catalogued messages, which name the count differently.
        (
            _("chassis {name}: {first}{others}"),
            "chassis",
            "chassis compute1: ovsdb-server did not start (2 more chassis failed too)",
        ),
        (
            _("host {name}: {first}{others}"),
            "hosts",
            "host compute1: ovsdb-server did not start (2 more hosts failed too)",
        ),
    ],
)
def test_the_first_failure_is_reported_with_how_many_more(
    message: str, kind: str, expected: str
) -> None:
    with pytest.raises(LabError) as info:
        raise_first_failure(FAILED, message, kind)
    assert str(info.value) == expected
    assert info.value.__suppress_context__


def test_one_failure_has_no_count_and_none_raises_nothing() -> None:
    with pytest.raises(LabError) as info:
        raise_first_failure(FAILED[1:2], _("host {name}: {first}{others}"), "hosts")
    assert str(info.value) == "host compute2: no space left"
    raise_first_failure([], _("host {name}: {first}{others}"), "hosts")
