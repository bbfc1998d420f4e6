"""Which RUNNING runs are a dead train's, and where an alias left on its version goes back to
(icpfit.registry_recovery; the cleanup itself is tested on real processes in
tests/e2e/test_faults.py)."""

from __future__ import annotations

from icpfit.registry_recovery import (
    HOST_TAG,
    NOT_SET,
    PID_TAG,
    STALE_HOURS,
    Here,
    alias_target,
    previous_tag,
    why_dead,
)

HOUR_MS = 3_600_000
NOW = 1_000 * HOUR_MS
GONE = {4242}


def here(probe: bool = True) -> Here:
    """This machine is `box`, this process 1; pid 4242 is gone, any other alive (or nothing can
    be told, without a probe: Windows)."""
    return Here("box", 1, NOW, (lambda pid: pid in GONE) if probe else (lambda pid: None))


def tags(pid: int, host: str = "box") -> dict[str, str]:
    return {PID_TAG: str(pid), HOST_TAG: host}


def test_a_run_whose_process_on_this_machine_is_gone_is_dead_at_once():
    assert why_dead("RUNNING", NOW - 1000, tags(4242), here()) == (
        "its process 4242 on box is gone"
    )


def test_a_live_process_is_never_touched_however_old_its_run():
    assert why_dead("RUNNING", NOW - 1000, tags(777), here()) is None
    assert why_dead("RUNNING", NOW - 100 * HOUR_MS, tags(777), here()) is None


def test_our_own_process_is_alive():
    assert why_dead("RUNNING", NOW - 100 * HOUR_MS, tags(1), here()) is None


def test_only_running_runs_are_considered():
    for status in ("FINISHED", "FAILED", "KILLED", "SCHEDULED"):
        assert why_dead(status, NOW - 100 * HOUR_MS, tags(4242), here()) is None


def test_another_machines_run_waits_for_the_bound():
    young = NOW - (STALE_HOURS - 1) * HOUR_MS
    old = NOW - (STALE_HOURS + 6) * HOUR_MS
    assert why_dead("RUNNING", young, tags(4242, "other"), here()) is None
    assert why_dead("RUNNING", old, tags(4242, "other"), here()) == (
        "RUNNING for 30 hours on other (pid 4242), which cannot be checked from here"
    )


def test_a_run_without_the_tags_waits_for_the_bound():
    assert why_dead("RUNNING", NOW - 1000, {}, here()) is None
    assert why_dead("RUNNING", NOW - 25 * HOUR_MS, {"quarter": "2026Q3"}, here()) == (
        "RUNNING for 25 hours with no record of its process"
    )
    assert why_dead("RUNNING", None, {}, here()) is None  # no start time: cannot tell


def test_where_a_pid_cannot_be_probed_the_bound_applies():
    assert why_dead("RUNNING", NOW - 1000, tags(4242), here(probe=False)) is None
    assert why_dead("RUNNING", NOW - 48 * HOUR_MS, tags(4242), here(probe=False)) == (
        "RUNNING for 48 hours on box (pid 4242), which cannot be checked from here"
    )


def test_an_alias_goes_back_to_the_version_the_run_recorded():
    assert alias_target("champion", {previous_tag("champion"): "2"}, {}) == ("2", "")
    assert alias_target("challenger", {previous_tag("challenger"): "5"}, {}) == ("5", "")


def test_the_run_record_wins_over_the_versions_previous_champion_tag():
    run = {previous_tag("champion"): "2"}
    assert alias_target("champion", run, {"previous_champion": "1"}) == ("2", "")


def test_an_alias_that_named_nothing_before_is_removed():
    assert alias_target("champion", {previous_tag("champion"): NOT_SET}, {}) == (
        None,
        "it named no version before that train",
    )


def test_an_older_runs_champion_goes_back_to_the_versions_previous_champion_tag():
    assert alias_target("champion", {}, {"previous_champion": "3"}) == ("3", "")


def test_without_any_record_the_alias_is_removed_and_the_reason_says_so():
    assert alias_target("challenger", {}, {"previous_champion": "3"}) == (
        None,
        "no record of the version it named before",
    )
    assert alias_target("champion", {}, {}) == (None, "no record of the version it named before")
