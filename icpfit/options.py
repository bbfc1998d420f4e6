"""The command line's options, declared once: each is a type with its flag and help text."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from icpfit import __version__


class Engine(str, Enum):
    pandas = "pandas"
    spark = "spark"


class ExplainFormat(str, Enum):
    text = "text"
    markdown = "markdown"
    json = "json"


class Business(str, Enum):
    subscription = "subscription"
    transactional = "transactional"


class Promote(str, Enum):
    auto = "auto"
    never = "never"
    force = "force"


class CrmName(str, Enum):
    salesforce = "salesforce"
    hubspot = "hubspot"


EXAMPLES = {
    "sample-data": "Example: icpfit sample-data --out demo --accounts 5000 --seed 1",
    "validate": "Example: icpfit validate --config icpfit.yaml --as-of 2026-06-30",
    "train": "Example: icpfit train --config icpfit.yaml --as-of 2026-06-30 --quarter 2026Q2",
    "promote": 'Example: icpfit promote 3 --reason "beat v2 on the Q3 holdout"',
    "rollback": 'Example: icpfit rollback --reason "tiers look wrong for EMEA"',
    "compare": "Example: icpfit compare --model-a models:/icp-fit/1 --model-b "
    "models:/icp-fit@champion --input accounts.csv --technologies technologies.csv "
    "--signals signals.csv --output compare/",
    "score": "Example: icpfit score --model models:/icp-fit@champion --input accounts.csv "
    "--technologies technologies.csv --signals signals.csv --output scored.parquet --reasons 3  "
    "·  For a CRM sync: icpfit score --input accounts.csv --technologies technologies.csv "
    "--signals signals.csv --previous scored.parquet --changed-only --crm salesforce "
    "--output crm_update.csv",
    "queue": "Example: icpfit queue --config icpfit.yaml --capacity 50 --output queue.csv "
    "--html queue.html  ·  Per rep: icpfit queue --config icpfit.yaml --capacity 20 --owners "
    "owners.csv --output queue.parquet",
    "explain": "Example: icpfit explain --input accounts.csv --technologies technologies.csv "
    "--signals signals.csv --account-id ACC-000050 --top 8 --format markdown --plot why.png",
}


def option(*names: str, help: str, **kwargs) -> typer.models.OptionInfo:
    return typer.Option(*names, help=help, **kwargs)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"icpfit {__version__}")
        raise typer.Exit()


Version = Annotated[
    bool,
    option("--version", callback=_print_version, is_eager=True, help="Print the version and exit."),
]
Verbose = Annotated[
    bool,
    option(
        "--verbose",
        help="Also show what MLflow itself prints (its INFO lines, warnings and download "
        "progress bars), which icpfit hides by default. Example: icpfit --verbose train ...",
    ),
]
Debug = Annotated[
    bool,
    option(
        "--debug",
        help="On an error, show Python's traceback as well as the message (also: "
        "ICPFIT_DEBUG=1). Example: icpfit --debug score ...",
    ),
]
Config = Annotated[Path, option("--config", help="The icpfit.yaml of your export.")]
AsOf = Annotated[
    str | None,
    option(
        "--as-of",
        help="Cutoff date YYYY-MM-DD; rows dated later are ignored. "
        "Default: as_of in the config, else today.",
        show_default=False,
    ),
]
VersionArgument = Annotated[str, typer.Argument(help="The registered version to make champion.")]
ModelName = Annotated[str, option("--model-name", help="Registered model.")]
Reason = Annotated[
    str,
    option(
        "--reason",
        help="Why, in a few words: tagged on the version with who moved the alias and when, "
        "and written into its description.",
    ),
]

# sample-data
Out = Annotated[Path, option("--out", help="Directory to write the export into.")]
Accounts = Annotated[int, option("--accounts", min=100, help="Number of accounts.")]
Seed = Annotated[int, option("--seed", help="Random seed; same seed, same data.")]
BusinessKind = Annotated[
    Business,
    option(
        "--business",
        help="subscription: monthly revenue (revenue.csv); transactional: repeat orders as won "
        "opportunities with amounts, no revenue.csv, labels.mode: bookings.",
    ),
]

# train, promote
Quarter = Annotated[
    str | None, option("--quarter", help="Run name; default: the quarter of as_of, like 2026Q3.")
]
PromoteMode = Annotated[
    Promote,
    option(
        "--promote",
        help="auto: champion only if the promotion rule holds; never: challenger; force: "
        "champion, recorded as forced.",
    ),
]
ReportPath = Annotated[
    Path | None, option("--report", help="Also write the run's HTML report here.")
]

# compare
ModelA = Annotated[str, option("--model-a", help="The earlier model, e.g. models:/icp-fit/1.")]
ModelB = Annotated[
    str, option("--model-b", help="The newer model, e.g. models:/icp-fit@challenger.")
]
CompareInput = Annotated[
    Path, option("--input", help="Account rows (CSV or Parquet) both models score.")
]
InputBefore = Annotated[
    Path | None,
    option(
        "--input-before",
        help="An earlier snapshot of the same accounts: splits changes into model and data.",
    ),
]
CompareTechnologies = Annotated[
    Path | None,
    option("--technologies", help="A long (account_id, technology) table to join."),
]
CompareOutput = Annotated[
    Path | None, option("--output", help="A folder for compare.html and the CSV tables.")
]
PsiThreshold = Annotated[
    float, option("--psi-threshold", help="Flag features drifting beyond this PSI.")
]

# score
ScoreInput = Annotated[
    Path,
    option(
        "--input",
        help="Account rows, CSV or Parquet, in the export's format (tech stack as a column).",
    ),
]
ScoreOutput = Annotated[Path, option("--output", help="Scored rows, CSV or Parquet.")]
ModelUri = Annotated[
    str,
    option("--model", help="models:/NAME@ALIAS, models:/NAME/VERSION or any MLflow model URI."),
]
Reasons = Annotated[
    int, option("--reasons", min=0, max=10, help="Reasons for and against per account.")
]
Contributions = Annotated[
    bool, option("--contributions", help="Add every attribute's SHAP value as JSON.")
]
EngineOption = Annotated[
    Engine,
    option(
        "--engine",
        help="pandas (streaming, one machine) or spark (Parquet in and out, mlflow spark_udf).",
    ),
]
SparkMaster = Annotated[str, option("--spark-master", help="Spark master URL for --engine spark.")]
ScoreTechnologies = Annotated[
    Path | None,
    option(
        "--technologies", help="A long table (account_id, technology) to join as the tech stack."
    ),
]
Previous = Annotated[
    Path | None,
    option(
        "--previous",
        help="The last run's scored file (CSV or Parquet, ours or a --crm file) to compare with: "
        "adds previous_tier, tier_change (up/down/new/same), score_change and change_cause "
        "(model/data/model and data). Default: the --output file, if it exists (read before it "
        "is replaced). Example: --previous scored_2026-09.parquet",
        show_default=False,
    ),
]
ChangedOnly = Annotated[
    bool,
    option(
        "--changed-only",
        help="Write only the accounts whose tier went up, down or is new, and rows with an "
        "error: the file a CRM sync needs. Needs --previous. Example: --previous scored.csv "
        "--changed-only",
    ),
]
CrmOption = Annotated[
    CrmName | None,
    option(
        "--crm",
        help="Name and type the columns as the CRM's fields (README: Loading scores into your "
        "CRM): salesforce (Account custom fields ICP_...__c, DateTime 2026-12-05T10:00:00Z, texts "
        "cut to 255) or hubspot (company properties icp_..., Unix ms). Example: --crm salesforce",
        show_default=False,
    ),
]
Excel = Annotated[
    bool,
    option(
        "--excel",
        help="Write the CSV as UTF-8 with a byte-order mark, so Excel shows accented and "
        "non-Latin account names correctly (CSV only). Example: --output scored.csv --excel",
    ),
]

# score, explain, compare: inputs given as their own tables
Signals = Annotated[
    Path | None,
    option(
        "--signals",
        help="A signals table (account_id, date, signal_type): each type counted over the 12 "
        "months up to --as-of, as the model's signal features.",
    ),
]
SignalsAsOf = Annotated[
    str | None,
    option(
        "--as-of",
        help="Count --signals up to this date (YYYY-MM-DD); later ones are not counted. "
        "Default: today.",
        show_default=False,
    ),
]
TechStackColumn = Annotated[
    str | None,
    option(
        "--tech-stack-column",
        help="The input's delimited tech-stack column, when it is named differently from the "
        "one the model was trained with.",
    ),
]

# explain
ExplainInput = Annotated[Path, option("--input", help="Account rows, CSV or Parquet.")]
AccountId = Annotated[str, option("--account-id", help="The account to explain.")]
ExplainModel = Annotated[str, option("--model", help="Model URI.")]
ExplainTechnologies = Annotated[
    Path | None, option("--technologies", help="A long technologies table to join.")
]
Plot = Annotated[Path | None, option("--plot", help="Write a waterfall PNG here.")]
Top = Annotated[
    int,
    option(
        "--top",
        min=1,
        max=200,
        help="Attributes shown one by one, largest contribution first; the rest are one step.",
    ),
]
Format = Annotated[
    ExplainFormat,
    option(
        "--format",
        help="text (the terminal), markdown (a CRM note or a ticket) or json (for programs).",
    ),
]


# queue
Capacity = Annotated[
    int,
    option(
        "--capacity",
        min=1,
        help="Accounts on the queue: the top N overall, or per owner with --owners.",
    ),
]
QueueOutput = Annotated[
    Path, option("--output", help="The queue for the CRM: .csv or .parquet (written whole).")
]
QueueAsOf = Annotated[
    str | None,
    option(
        "--as-of",
        help="The day the queue is for, YYYY-MM-DD; signals and deals after it are ignored. "
        "Default: the latest date in the export.",
        show_default=False,
    ),
]
Owners = Annotated[
    Path | None,
    option(
        "--owners",
        help="A CSV or Parquet file with account_id and owner (a rep or a territory): the top "
        "N per owner.",
    ),
]
QueueHtml = Annotated[
    Path | None, option("--html", help="Also write the queue as one HTML page a rep can read.")
]
ByValue = Annotated[
    str | None,
    option(
        "--value",
        help="'ltv': also multiply priority by the expected lifetime value of the account's fit "
        "tier (the mean LTV of past customers of that tier, from the fit model's backtest, "
        "shrunk toward the mean over all customers for a thin tier). Adds expected_ltv.",
    ),
]
FitModel = Annotated[
    str | None,
    option("--fit-model", help="Fit model URI; default: models:/<registry.model_name>@champion."),
]
TimingModel = Annotated[
    str | None,
    option(
        "--timing-model",
        help="Timing model URI; default: models:/<timing.model_name>@champion.",
    ),
]
