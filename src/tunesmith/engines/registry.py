"""The model registry: model id → engine, price, capabilities and availability.

Listing models must stay cheap (the API does it per request), so entries name their engine
class by import path and the class is only imported inside a worker process.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, replace
from typing import Any, Protocol

from tunesmith.config import BUILTIN_MODEL, Settings
from tunesmith.engines.base import Capabilities, Engine


@dataclass(frozen=True)
class ModelEntry:
    """One model as the API lists it."""

    model_id: str
    owned_by: str
    capabilities: Capabilities
    engine_path: str  # "package.module:Class"
    unavailable_reason: str | None = None
    #: The engine serves several models and is built with the model id (local models).
    takes_model_id: bool = False

    @property
    def available(self) -> bool:
        return self.unavailable_reason is None


COMPOSER = ModelEntry(
    model_id=BUILTIN_MODEL,
    owned_by="tunesmith",
    capabilities=Capabilities(
        lyrics=True,
        instrumental=True,
        description="Built-in composer: writes, arranges, mixes and masters offline on a CPU; "
        "sings your lyrics (or lyrics it writes for the prompt) unless instrumental; "
        "honours duration_seconds exactly.",
    ),
    engine_path="tunesmith.engines.composer.engine:ComposerEngine",
)


UPSTREAM = Capabilities(
    lyrics=True,
    instrumental=True,
    exact_duration=False,
    description="vocals with your lyrics (or lyrics written for you) or instrumental; "
    "tracks of about 2-4 minutes whatever duration_seconds asks (passed on as a hint); "
    "takes 1-5 minutes.",
)
MINIMAX_ENGINE = "tunesmith.engines.minimax:MiniMaxEngine"
GATEWAY_ENGINE = "tunesmith.engines.gateway:GatewayEngine"


def model_entries(settings: Settings) -> dict[str, ModelEntry]:
    """Every model this server knows, priced from the settings."""
    entries = [COMPOSER, *_upstream_entries(settings), *_sglang_entries(settings),
               *_local_entries(settings),
               *(_plugin_entry(path) for path in settings.engine_plugins)]
    return {e.model_id: _priced(e, settings) for e in entries}


def _upstream_entries(settings: Settings) -> list[ModelEntry]:
    """The ``minimax/*`` models: MiniMax directly with a key, else the paid vendor gateway."""
    engine_path, via, reason = _upstream_route(settings)
    return [ModelEntry(model_id=f"minimax/{name}", owned_by="minimax",
                       capabilities=replace(UPSTREAM, description=f"MiniMax {name} {via}: "
                                            f"{UPSTREAM.description}"),
                       engine_path=engine_path, unavailable_reason=reason)
            for name in settings.minimax_models]


def _upstream_route(settings: Settings) -> tuple[str, str, str | None]:
    """(engine path, how it is reached, why it cannot run here or None)."""
    if settings.minimax_api_key:
        return MINIMAX_ENGINE, "via the MiniMax API", None
    if settings.gateway_url:
        return GATEWAY_ENGINE, "via the vendor gateway", _missing_wallet(settings)
    return MINIMAX_ENGINE, "via the MiniMax API", (
        "set TUNESMITH_MINIMAX_API_KEY to call MiniMax directly, or TUNESMITH_GATEWAY_URL "
        "and a wallet (TUNESMITH_WALLET_KEY) to go through the vendor's paid gateway")


def _missing_wallet(settings: Settings) -> str | None:
    if settings.wallet_key or settings.wallet_file.expanduser().is_file():
        return None
    return ("the vendor gateway is paid per track: set TUNESMITH_WALLET_KEY or create a "
            "wallet with `tunesmith wallet create` (TUNESMITH_WALLET_FILE), then fund it")


SGLANG_MODEL = "sglang/minimax-music-3"
SGLANG_ENGINE = "tunesmith.engines.sglang:SGLangOmniEngine"
NEURAL_ENGINE = "tunesmith.engines.neural.engine:NeuralEngine"


def _sglang_entries(settings: Settings) -> list[ModelEntry]:
    """MiniMax Music 3 on the operator's own SGLang-Omni server, when one is configured."""
    if not settings.sglang_omni_url:
        return []
    from tunesmith.engines.sglang import CAPABILITIES

    return [ModelEntry(model_id=SGLANG_MODEL, owned_by="minimax", capabilities=CAPABILITIES,
                       engine_path=SGLANG_ENGINE)]


def _local_entries(settings: Settings) -> list[ModelEntry]:
    """The operator's open-weights models (TUNESMITH_LOCAL_MODELS); torch is not imported."""
    if not settings.local_models:
        return []
    from tunesmith.engines.neural import catalog

    return [ModelEntry(model_id=model_id, owned_by="local",
                       capabilities=catalog.PIPELINES[model.pipeline].capabilities(model),
                       engine_path=NEURAL_ENGINE, takes_model_id=True,
                       unavailable_reason=catalog.unavailable_reason(model_id, model))
            for model_id, model in settings.local_models.items()]


def local_model_ids(settings: Settings) -> set[str]:
    """Models only the workers that hold them may run (each loads its weights once)."""
    return set(settings.local_models)


def _plugin_entry(path: str) -> ModelEntry:
    """An operator's own engine class, named by import path."""
    engine_class = _import(path)
    return ModelEntry(model_id=engine_class.model_id, owned_by="plugin",
                      capabilities=engine_class.capabilities, engine_path=path)


class EngineClass(Protocol):
    """What an engine path names: a class with its model id and capabilities, built from the
    settings."""

    model_id: str
    capabilities: Capabilities

    def __call__(self, settings: Settings) -> Engine: ...


class ModelEngineClass(Protocol):
    """An engine class that serves several models, built with the one it runs (local models)."""

    def __call__(self, settings: Settings, model_id: str) -> Engine: ...


def _import(path: str) -> EngineClass:
    engine_class: EngineClass = _class_at(path)
    return engine_class


def _class_at(path: str) -> Any:
    module_name, _, class_name = path.partition(":")
    if not class_name:
        raise ValueError(f"engine plugin {path!r} must look like 'package.module:Class'")
    return getattr(importlib.import_module(module_name), class_name)


def _priced(entry: ModelEntry, settings: Settings) -> ModelEntry:
    price = settings.prices_usd.get(entry.model_id, entry.capabilities.price_usd)
    return replace(entry, capabilities=replace(entry.capabilities, price_usd=price))


def default_model(settings: Settings) -> str:
    """The model used when a request names none."""
    return settings.default_model or BUILTIN_MODEL


def load_engine(entry: ModelEntry, settings: Settings) -> Engine:
    """Import and build the engine behind ``entry`` (inside a worker process)."""
    if entry.takes_model_id:
        model_engine: ModelEngineClass = _class_at(entry.engine_path)
        return model_engine(settings, entry.model_id)
    return _import(entry.engine_path)(settings)
