"""The fit model as MLflow logs it ("models from code"): MLflow runs this file to build the
pyfunc, then `load_context` reads the version's booster and bundle. The `icpfit` code it imports
is logged beside it (`code_paths`), so a version loads where icpfit was never installed."""

from mlflow.models import set_model

from icpfit.serving.pyfunc import IcpFitModel

set_model(IcpFitModel())
