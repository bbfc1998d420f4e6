"""The use cases: one function per command, each a short list of named steps over the pure core
(`features`, `training`, `serving`) and the registry (`icpfit.registry`). Each returns a frozen
result and prints nothing; the CLI renders results (`icpfit.render`), notebooks read them.

    from icpfit import usecases
    usecases.tracking()                                  # MLFLOW_TRACKING_URI or ./mlflow.db
    q3 = usecases.retrain(usecases.load("data/icpfit.yaml"), date(2026, 9, 30))
    print("\\n".join(q3.comparison.summary_lines()))

| command     | use case                      |
| ----------- | ----------------------------- |
| sample-data | `data.sample`                 |
| validate    | `data.validate`               |
| train       | `quarterly.retrain`            |
| compare     | `models.compare`              |
| promote     | `models.promote`              |
| rollback    | `models.rollback`             |
| score       | `scoring.score_file`          |
| explain     | `scoring.explain`             |
| queue       | `queue.build_queue`           |
"""

from __future__ import annotations

import importlib

_HOMES = {
    "load": ("icpfit.config", "load_config"),
    "load_model": ("icpfit.registry", "load_model"),
    "tracking": ("icpfit.registry", "tracking"),
    **{
        n: ("icpfit.usecases.data", n)
        for n in ("Sample", "Validation", "sample", "validate", "write_sample")
    },
    **{
        n: ("icpfit.usecases.models", n)
        for n in ("ComparisonReport", "Promotion", "Rollback", "compare", "promote", "rollback")
    },
    "InputTables": ("icpfit.usecases.joins", "InputTables"),
    **{n: ("icpfit.usecases.queue", n) for n in ("Queue", "build_queue")},
    **{n: ("icpfit.usecases.quarterly", n) for n in ("Retrain", "quarter_of", "retrain")},
    **{
        n: ("icpfit.usecases.scoring", n)
        for n in (
            "Explanation",
            "ScoredFile",
            "explain",
            "rows_with_inputs",
            "score_file",
            "score_rows",
        )
    },
}
__all__ = sorted(_HOMES)


def __getattr__(name: str):
    """Imported on first use, so a command loads only what it runs (MLflow takes seconds)."""
    if name not in _HOMES:
        raise AttributeError(f"module 'icpfit.usecases' has no attribute {name!r}")
    module, attribute = _HOMES[name]
    return getattr(importlib.import_module(module), attribute)
