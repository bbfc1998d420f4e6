"""Counting repeated account ids across batches, with the hashes kept on disk, not in memory."""

from __future__ import annotations

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from icpfit.serving.batch import RepeatedIds

IDS = st.one_of(
    st.none(), st.sampled_from(["A1", "A2", "a1", "A1 ", "7", "Ü"]), st.text(max_size=4)
)


@settings(max_examples=100, deadline=None)
@given(
    batches=st.lists(st.lists(IDS, max_size=20), max_size=6),
    buffer_rows=st.sampled_from([1, 7, 10**6]),
)
def test_repeats_are_rows_whose_id_came_earlier_in_any_batch(
    batches, buffer_rows, tmp_path_factory
):
    repeated = RepeatedIds(tmp_path_factory.mktemp("ids"), buffer_rows)
    for batch in batches:
        repeated.add(pd.Series(batch, dtype=object))
    ids = [i for batch in batches for i in batch if i is not None]
    assert repeated.count() == len(ids) - len(set(ids))


def test_ids_go_to_many_files_each_sorted_on_its_own(tmp_path):
    repeated = RepeatedIds(tmp_path, buffer_rows=3_000)
    for start in range(0, 20_000, 5_000):
        repeated.add(pd.Series([f"acct-{i}" for i in range(start, start + 5_000)]))
    repeated.add(pd.Series([f"acct-{i}" for i in range(0, 20_000, 4)]))
    assert len(list(tmp_path.iterdir())) == RepeatedIds.BUCKETS
    assert repeated.count() == 5_000
