"""What scoring reads: ids exactly as written, missing words as missing, no guessed dates."""

from __future__ import annotations

import pandas as pd
import pytest

from icpfit.io import InputError
from icpfit.serving.batch import read_batches
from icpfit.usecases.joins import read_signals


def test_an_id_is_kept_as_written_and_other_cells_read_as_training_reads_them(tmp_path):
    path = tmp_path / "in.csv"
    path.write_text('account_id,industry,employees\nNA,NA,\nnull,Software,nan\n"",,12\n0012,x,1\n')
    batch = next(read_batches(path))
    assert (
        batch["account_id"].tolist()[:2] == ["NA", "null"] and batch["account_id"].iloc[3] == "0012"
    )
    assert pd.isna(batch["account_id"].iloc[2]), "a blank id is missing (that row gets an error)"
    assert pd.isna(batch["industry"].iloc[0]) and batch["industry"].iloc[1] == "Software"
    assert batch["employees"].iloc[1] == "nan", "kept, so that the row is told it is no number"


def test_signal_dates_are_never_guessed(tmp_path):
    path = tmp_path / "signals.csv"
    path.write_text("account_id,date,signal_type\nA,2025-04-03,x\nB,03/04/2025,y\n")
    with pytest.raises(InputError, match="'03/04/2025'.*YYYY-MM-DD"):
        read_signals(path, {})
    path.write_text("account_id,date,signal_type\nA,2025-04-03,x\nB,13/04/2025,y\n")
    assert read_signals(path, {})["date"].dt.day.tolist() == [3, 13]
