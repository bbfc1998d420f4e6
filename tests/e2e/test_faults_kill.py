"""kill -9 during `icpfit train`, and a live train left alone (issue 15): a file of its own so
the suite's two workers run it beside the other fault tests (`tests/e2e/test_faults.py`, whose
store, fixtures and helpers it shares)."""

from __future__ import annotations

import signal
import socket
from pathlib import Path

from tests.e2e.test_faults import (  # noqa: F401  (fixtures: trained, copy_of)
    HOOK,
    MODEL,
    RAW_ERRORS,
    TIMING,
    Store,
    copy_of,
    copy_store,
    state,
    trained,
    wait_for,
)

KILLED = {  # case: (the step the first train is killed after, what runs next)
    "register, then train": ("register", "train"),
    "alias, then train": ("alias", "train"),
    "alias, then promote": ("alias", "promote"),
    "alias, then rollback": ("alias", "rollback"),
    "timing alias, then train": ("timing", "train"),
}
NEXT = {
    "train": ("train", "--config", "{data}/icpfit.yaml", "--promote", "never"),
    "promote": ("promote", "1"),
    "rollback": ("rollback",),
}
SHOWN = {  # what the command after the kill prints: it starts from the registry cleaned up
    "promote": "icp-fit v1 is champion (was: 1)",
    "rollback": "icp-fit: champion moved back from v2 to v1",  # once, not to v1's predecessor
}


def test_g_what_kill_9_leaves_the_next_train_promote_or_rollback_cleans_up(
    trained: Store,  # noqa: F811 (the fixture imported above)
    tmp_path: Path,
):
    """kill -9 once the version is registered, or once it is champion, leaves a RUNNING run and an
    orphan version (champion on it, in the second case): the next train, promote or rollback
    marks the run FAILED, deletes the version, puts champion back on v1 and says so in one
    line. Each case on its own copy of the store, all at once."""
    stores = {case: copy_store(trained, tmp_path / f"case{i}") for i, case in enumerate(KILLED)}
    killed = {
        case: store.train("killed", "--promote", "force", ICPFIT_TEST_PAUSE_AFTER=KILLED[case][0])
        for case, store in stores.items()
    }
    dead_runs = {}
    for case, store in stores.items():
        wait_for(store, "killed", HOOK, killed[case])
        killed[case].kill()
        assert killed[case].wait(timeout=30) == -signal.SIGKILL
        left = state(store.client())
        assert left["versions"] == [1, 2], case
        moved = KILLED[case][0] in ("alias", "timing")
        assert left["aliases"] == {"champion": "2" if moved else "1"}, case
        timing_moved = KILLED[case][0] == "timing"
        assert state(store.client(), TIMING)["aliases"] == {
            "champion": "2" if timing_moved else "1"
        }, case
        [dead_runs[case]] = [r for r, s in left["runs"].items() if s == "RUNNING"]
    after_kill = {
        case: store.start("next", *(a.format(data=store.data) for a in NEXT[KILLED[case][1]]))
        for case, store in stores.items()
    }
    for case, store in stores.items():
        assert after_kill[case].wait(timeout=120) == 0, store.stderr("next")
        after, stderr = state(store.client()), store.stderr("next")
        assert "RUNNING" not in after["runs"].values(), case
        assert after["runs"][dead_runs[case]] == "FAILED", case
        assert after["versions"] == ([1, 3] if KILLED[case][1] == "train" else [1]), case
        assert after["aliases"]["champion"] == "1", case
        timing = state(store.client(), TIMING)
        assert timing["aliases"]["champion"] == "1", case
        # a new train's timing version follows the last one registered (v2 only if it was killed)
        new_timing = 3 if KILLED[case][0] == "timing" else 2
        expected = [1, new_timing] if KILLED[case][1] == "train" else [1]
        assert timing["versions"] == expected, case
        line = (
            f"Cleaned up after a train that was killed (its process {killed[case].pid} on "
            f"{socket.gethostname()} is gone): run {dead_runs[case]} marked FAILED, icp-fit "
            "version 2 deleted"
        )
        if KILLED[case][0] in ("alias", "timing"):
            line += ", champion back to version 1"
        if KILLED[case][0] == "timing":
            line += f", {TIMING} version 2 deleted, {TIMING} champion back to version 1"
        assert line in stderr.splitlines(), stderr
        assert not any(e in stderr for e in RAW_ERRORS), stderr
        if KILLED[case][1] in SHOWN:
            assert SHOWN[KILLED[case][1]] in (store.root / "next.out").read_text(), case


def test_h_promote_leaves_the_run_of_a_live_train_alone(copy_of: Store, tmp_path: Path):  # noqa: F811
    """A train paused after registering (alive, its run RUNNING, its version not finished): a
    promote meanwhile removes nothing of it, and the train then finishes."""
    resume = tmp_path / "resume"
    live = copy_of.train(
        "live", "--promote", "never",
        ICPFIT_TEST_PAUSE_AFTER="register", ICPFIT_TEST_RESUME_FILE=str(resume),
    )  # fmt: skip
    wait_for(copy_of, "live", HOOK, live)
    during = state(copy_of.client())
    code, stderr = copy_of.run("promote", "promote", "1")
    assert code == 0 and "Cleaned up" not in stderr, stderr
    assert state(copy_of.client()) == during
    assert list(during["runs"].values()).count("RUNNING") == 1
    resume.touch()
    assert live.wait(timeout=90) == 0, copy_of.stderr("live")
    after = state(copy_of.client())
    assert after["versions"] == [1, 2] and set(after["runs"].values()) == {"FINISHED"}
