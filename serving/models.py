"""Which registered model a URI names, so every scored row can say what made it."""

from __future__ import annotations

import re

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

URI = re.compile(r"^models:/(?P<name>[^/@]+)(?:@(?P<alias>[^/]+)|/(?P<version>\d+))$")


class ModelNotFound(LookupError):
    """The URI names no model; the message lists what the registry has."""


def resolve_model(uri: str) -> tuple[str, str]:
    """(model name, version) for `models:/name@alias` or `models:/name/3`; else (uri, 'n/a')."""
    match = URI.match(uri)
    if not match:
        return uri, "n/a"
    client, name = MlflowClient(), match["name"]
    try:
        if match["alias"]:
            return name, str(client.get_model_version_by_alias(name, match["alias"]).version)
        return name, str(client.get_model_version(name, match["version"]).version)
    except MlflowException:
        raise ModelNotFound(f"{uri}: not in the registry; {_available(client, name)}") from None


def _available(client: MlflowClient, name: str) -> str:
    try:
        registered = client.get_registered_model(name)
    except MlflowException:
        names = [m.name for m in client.search_registered_models()]
        return f"registered models: {', '.join(names) or 'none'}"
    versions = sorted(int(v.version) for v in client.search_model_versions(f"name='{name}'"))
    aliases = ", ".join(f"@{a} -> v{v}" for a, v in sorted(registered.aliases.items()))
    return (
        f"{name} has versions {', '.join(map(str, versions)) or 'none'}; aliases: "
        f"{aliases or 'none'}"
    )
