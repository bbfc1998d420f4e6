"""The timing model as MLflow logs it ("models from code"); see fit_model_code.py."""

from mlflow.models import set_model

from icpfit.serving.timing_model import IcpTimingModel

set_model(IcpTimingModel())
