"""`score` and `explain`: the registered model on account rows, with reasons in words."""

from __future__ import annotations

import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from icpfit.io import InputError, write_bytes
from icpfit.registry import LoadedModel, load_model, verified_copy
from icpfit.serving.account_explanation import (
    explain_account,
    probability,
    probability_steps,
    waterfall_png,
)
from icpfit.serving.batch import ScoringSummary, read_batches
from icpfit.serving.batch import (
    score_file as stream_scores,
)
from icpfit.serving.delivery import DigestSpec, input_digests
from icpfit.serving.inputs import ModelInputs, input_gaps
from icpfit.serving.schema import Provenance
from icpfit.serving.scoring import id_text
from icpfit.serving.spark import score_with_spark
from icpfit.usecases.delivery import Delivered, Delivery, check_delivery, deliverer
from icpfit.usecases.files import (
    PARQUET_SUFFIXES,
    check_input_families,
    check_input_file,
    check_output_path,
    check_table_suffix,
    loading_model,
    reading,
    replaced_input,
)
from icpfit.usecases.joins import InputTables, Joined, id_column, join_inputs


@dataclass(frozen=True)
class ScoredFile:
    output: Path
    model_name: str
    model_version: str
    engine: str
    summary: ScoringSummary
    gaps: dict[str, int]
    """Per input the model uses (export's names): rows where it was blank, scored as unknown."""
    notes: tuple[str, ...] = ()
    delivered: Delivered | None = None
    """What was compared, kept and renamed on the way to the file (pandas engine)."""


@dataclass(frozen=True)
class Explanation:
    account_id: str
    model_name: str
    model_version: str
    scored: pd.Series
    """The account's scored row (tier, score, probability, disqualified_reason)."""
    attributes: pd.DataFrame
    """Per attribute: its text and exact contribution (log-odds), largest first."""
    base: float
    """The average account's log-odds."""
    plot: Path | None
    calibration: dict[str, float]
    """The model's log-odds -> probability (Platt slope and intercept)."""
    a_accounts: int | None
    """How many accounts the median A-tier account is the median of (None: not recorded)."""

    def steps(self, top: int) -> pd.DataFrame:
        """The `top` attributes as a waterfall in probability terms, the rest as one step."""
        return probability_steps(self.attributes, self.base, self.calibration, top)

    @property
    def average_probability(self) -> float:
        return float(probability(self.base, self.calibration))


def score_file(
    input_path: Path,
    output: Path,
    model_uri: str = "models:/icp-fit@champion",
    reasons: int = 3,
    contributions: bool = False,
    tables: InputTables = InputTables(),
    engine: str = "pandas",
    spark_master: str = "local[*]",
    on_rows: Callable[[int], None] = lambda n: None,
    delivery: Delivery = Delivery(),
) -> ScoredFile:
    """Every row of `input_path` scored into `output` (written whole or not at all), each row
    stamped with the model version that scored it and the digest of its inputs. Refuses when
    the input lacks a family of inputs the model uses (technologies, signals, an account
    column), counts the rows where one is blank. `delivery`: compare with the previous run
    (by default the existing `output`), keep only the changed rows, use a CRM's field names,
    write for Excel."""
    check_table_paths(input_path, output, engine, tables, delivery)
    check_delivery(delivery, output, engine, contributions)
    loaded = model_at(model_uri)
    if engine == "spark" and (tables != InputTables() or contributions):
        raise InputError(
            "--engine spark takes the tech stack and signal counts as columns and no "
            "--contributions; join technologies and signals upstream"
        )
    joined = join_inputs(loaded.model, tables)
    check_input_families(input_path, loaded.model, joined.join)
    provenance = Provenance.now(loaded.name, loaded.version)
    if engine == "spark":
        summary, blanks = score_on_spark(
            model_uri, input_path, output, loaded, provenance, spark_master, reasons
        )
        return ScoredFile(output, loaded.name, loaded.version, engine, summary, blanks)
    params = {"reasons": reasons, "contributions": contributions, **provenance.params()}
    gaps = Counter()
    score_batch = batch_scorer(loaded, joined, params, gaps)
    deliver = deliverer(delivery, output, id_column(loaded.model))  # reads the previous file
    with reading(input_path):
        summary = stream_scores(
            input_path, output, score_batch, on_rows, deliver=deliver, excel=delivery.excel
        )
    return ScoredFile(
        output,
        loaded.name,
        loaded.version,
        engine,
        summary,
        dict(gaps),
        joined.notes,
        deliver.result(),
    )


def batch_scorer(
    loaded: LoadedModel, joined: Joined, params: dict, gaps: Counter
) -> Callable[[pd.DataFrame], pd.DataFrame]:
    """Scores a batch of the input as given: joins the tables, counts blank inputs into `gaps`,
    and stamps each row with the digest of its inputs (before scoring, from the row read)."""
    inputs = ModelInputs.of(loaded.model.bundle)
    digests = DigestSpec.of(loaded.model.bundle)
    ids = id_column(loaded.model)

    def score_batch(batch: pd.DataFrame) -> pd.DataFrame:
        rows = joined.join(batch.assign(**{ids: id_text(batch[ids])}) if ids in batch else batch)
        accounts = canonical(rows, loaded)
        gaps.update(input_gaps(accounts, inputs))
        digest = input_digests(accounts, digests).to_numpy()
        return loaded.model.predict(None, rows, params).assign(input_digest=digest)

    return score_batch


def score_on_spark(
    model_uri: str,
    input_path: Path,
    output: Path,
    loaded: LoadedModel,
    provenance: Provenance,
    master: str,
    reasons: int,
) -> tuple[ScoringSummary, dict[str, int]]:
    if "model_version" not in loaded.params:
        raise InputError(
            f"{model_uri}: this version was logged before icpfit stamped the model version "
            "inside the model, so Spark could not name it on each row; score it with "
            "--engine pandas, or retrain"
        )
    inputs = ModelInputs.of(loaded.model.bundle)
    used = [*inputs.account_columns, *inputs.signal_columns]
    if inputs.technologies:
        used.append(inputs.tech_stack_column)
    checks = tuple(inputs.export_name(c) for c in used)
    ids = id_column(loaded.model)
    with tempfile.TemporaryDirectory(prefix="icpfit-model-") as folder:
        # spark_udf would download a registered version again, unchecked: give it the copy
        # whose SHA-256 digests were verified (a runs:/ URI or a path has none to check)
        registered = loaded.version != "n/a"
        source = verified_copy(loaded.name, loaded.version, Path(folder)) if registered else None
        uri = str(source) if source is not None else model_uri
        return score_with_spark(uri, input_path, output, provenance, master, reasons, checks, ids)


def rows_with_inputs(model_uri: str, rows: pd.DataFrame, tables: InputTables) -> pd.DataFrame:
    """Account rows with the given technologies and signals tables joined, as the model
    reads them (for notebooks: score them with `score_rows`, explain one of them)."""
    return join_inputs(load_model(model_uri).model, tables).join(rows)


def score_rows(model_uri: str, rows: pd.DataFrame, reasons: int = 3) -> pd.DataFrame:
    """Account rows in memory scored like `icpfit score` (for notebooks): each row names the
    model version, and a bad cell gives that row an `error` instead of failing the call."""
    loaded = load_model(model_uri)
    params = {"reasons": reasons, **Provenance.now(loaded.name, loaded.version).params()}
    return loaded.model.predict(None, rows, params)


def explain(
    input_path: Path,
    account_id: str,
    model_uri: str = "models:/icp-fit@champion",
    tables: InputTables = InputTables(),
    plot: Path | None = None,
) -> Explanation:
    """Why one account scores as it does: every attribute with its exact contribution."""
    if not input_path.is_file():
        raise InputError(f"{input_path}: input file not found")
    if plot is not None:
        check_output_path(plot, "--plot")
    loaded = model_at(model_uri)
    joined = join_inputs(loaded.model, tables)
    check_input_families(input_path, loaded.model, joined.join)
    row = joined.join(account_row(input_path, account_id, loaded))
    model = loaded.model
    scored = model.predict(None, row.head(1), {"reasons": 0}).iloc[0]
    if isinstance(scored["error"], str):
        raise InputError(
            f"{input_path.name}: {account_id} cannot be scored, so not explained: "
            f"{scored['error']}; correct that cell"
        )
    table, base = explain_account(row, model.bundle, model.booster, model.explainer)
    if plot is not None:
        write_bytes(waterfall_png(table, base, f"{account_id}: tier {scored['fit_tier']}"), plot)
    tier_a = model.bundle.get("tier_a")
    return Explanation(
        account_id,
        loaded.name,
        loaded.version,
        scored,
        table,
        base,
        plot,
        model.bundle["calibration"],
        None if tier_a is None else int(tier_a["accounts"]),
    )


REPLACED = {
    "--input": "scoring would replace your accounts with their scores",
    "--technologies": "scoring would replace that table with the scores",
    "--signals": "scoring would replace that table with the scores",
    "--previous": "with --changed-only it would keep only this run's changes, and the full "
    "run it replaces is the baseline the next run compares with",
}
"""Why `score --output` may not be each file the run reads, by option."""


def check_table_paths(
    input_path: Path,
    output: Path,
    engine: str,
    tables: InputTables = InputTables(),
    delivery: Delivery = Delivery(),
) -> None:
    """Refuse, before anything is read, paths that cannot work: not CSV or Parquet, no input,
    the output is a file the run reads (the input, a table, the --previous file of a
    --changed-only run), or (pandas engine: it writes one file) an output that cannot be
    written. The output may be --previous otherwise: that file is read whole first, and a full
    run replacing it is the default (no --previous: the existing output)."""
    for path, role in ((input_path, "--input"), (output, "--output")):
        check_table_suffix(path, role)
    check_input_file(input_path, "--input")
    read = {
        "--input": input_path,
        "--technologies": tables.technologies,
        "--signals": tables.signals,
    }
    if delivery.changed_only and delivery.previous is not None:
        read["--previous"] = delivery.previous
    given = replaced_input(output, {o: p for o, p in read.items() if p is not None})
    if given is not None:
        raise InputError(
            f"--output {output} is the {given} file: {REPLACED[given]}; write to another file"
        )
    if engine == "spark" and not all(
        p.suffix.lower() in PARQUET_SUFFIXES for p in (input_path, output)
    ):
        raise InputError(
            "--engine spark reads and writes Parquet: use .parquet for --input and --output"
        )
    if engine != "spark":
        check_output_path(output, "--output")


def model_at(uri: str) -> LoadedModel:
    """`load_model`, a URI that names no model said in words (`files.loading_model`)."""
    with loading_model(uri):
        return load_model(uri)


def canonical(rows: pd.DataFrame, loaded: LoadedModel) -> pd.DataFrame:
    mapping = loaded.model.bundle["accounts_columns"]
    return rows.rename(columns={v: k for k, v in mapping.items()})


def account_row(input_path: Path, account_id: str, loaded: LoadedModel) -> pd.DataFrame:
    id_column = loaded.model.bundle["accounts_columns"].get("account_id", "account_id")
    matches = (b[id_text(b[id_column]) == account_id] for b in read_batches(input_path))
    with reading(input_path):
        row = next((m for m in matches if len(m)), None)
    if row is None:
        raise InputError(f"{input_path.name}: no row with {id_column} = {account_id!r}")
    return row
