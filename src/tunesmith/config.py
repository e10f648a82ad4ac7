"""One typed settings object; the only place that reads the environment.

Every field can be set with an environment variable ``TUNESMITH_<FIELD>`` (for example
``TUNESMITH_DATA_DIR=/srv/tunesmith``) or a ``.env`` file in the working directory.
"""

from __future__ import annotations

import re
import secrets
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

BUILTIN_MODEL = "tunesmith/composer-1"
#: The diffusers pipelines a local model can run on (engines/neural/pipelines.py).
_MODEL_ID = re.compile(r"[A-Za-z0-9][\w.+-]{0,38}/[\w.+-]{1,40}")
NeuralPipeline = Literal["minimax-music-3", "ace-step-1.5", "stable-audio-3", "stable-audio-open"]


class LocalModel(BaseModel):
    """One open-weights model the operator serves from a folder on this machine."""

    model_config = ConfigDict(extra="forbid")

    pipeline: NeuralPipeline = Field(description="Which diffusers pipeline the folder holds.")
    path: Path = Field(description="The folder written by the pipeline's save_pretrained.")
    device: str = Field("cuda", pattern=r"^(cpu|cuda(:\d+)?|mps)$",
                        description="Where the model runs: cpu, cuda, cuda:N or mps.")
    dtype: Literal["float32", "bfloat16", "float16"] | None = Field(
        None, description="Weights' dtype once loaded (default: bfloat16 on a GPU, else float32).")
    steps: int | None = Field(None, ge=1, le=10000,
                              description="Denoising steps (default: the pipeline's own).")
    guidance_scale: float | None = Field(None, ge=0, description="Classifier-free guidance.")
    negative_prompt: str | None = Field(
        None, max_length=2000, description="What to steer away from, where the pipeline can.")
    workers: int = Field(1, ge=1, le=16, description="Worker processes that hold this model.")
    threads: int | None = Field(None, ge=1, le=256,
                                description="CPU threads per worker (torch.set_num_threads).")
    price_usd: float = Field(0.0, ge=0, description="Price per track, in USD.")

    @property
    def weights_dtype(self) -> str:
        """The dtype the weights are loaded in."""
        return self.dtype or ("bfloat16" if self.device.startswith("cuda") else "float32")


class Settings(BaseSettings):
    """Service configuration; unsafe or contradictory values are refused at start-up."""

    model_config = SettingsConfigDict(env_prefix="TUNESMITH_", env_file=".env", extra="ignore")

    # -- where state lives -------------------------------------------------------------------
    data_dir: Path = Field(Path("data"), description="Folder for the database, tracks and keys.")
    database_url: str | None = Field(
        None, description="SQLAlchemy URL of the job database; default: SQLite in data_dir."
    )

    # -- serving -----------------------------------------------------------------------------
    host: str = Field("127.0.0.1", description="Address `tunesmith serve` listens on.")
    port: int = Field(8000, ge=1, le=65535, description="Port `tunesmith serve` listens on.")
    public_url: str | None = Field(
        None, description="Base URL put in track links (default: the URL the request came to)."
    )
    max_body_bytes: int = Field(65536, ge=1024, description="Largest accepted request body.")
    rate_limit_per_minute: int = Field(
        120, ge=0, description="Generation requests per client address per minute (0: no limit)."
    )

    # -- models ------------------------------------------------------------------------------
    default_model: str | None = Field(
        None, description="Model used when a request names none (default: the built-in composer)."
    )
    fallback_model: str = Field(
        BUILTIN_MODEL,
        description="Model that makes the track when a request names a listed model that is not "
        "configured here (e.g. minimax/music-2.5+ without a key); the response's model says "
        "which made it. Empty: such requests get a 503 saying what to configure.",
    )
    engine_plugins: list[str] = Field(
        default_factory=list,
        description="Extra engine classes to serve, as 'package.module:Class' (JSON list).",
    )

    # -- upstream engines -------------------------------------------------------------------
    minimax_api_key: str | None = Field(
        None, description="MiniMax API key; serves the minimax/* models directly when set."
    )
    minimax_base_url: str = Field(
        "https://api.minimax.io", description="Base URL of the MiniMax API."
    )
    minimax_models: list[str] = Field(
        default_factory=lambda: ["music-3.0", "music-3.0-free", "music-2.5+", "music-2.6",
                                 "music-2.0"],
        description="MiniMax music models served as minimax/<name> (JSON list).",
    )
    minimax_output_format: Literal["url", "hex"] = Field(
        "url", description="How MiniMax sends the audio: a link we download at once, or hex inline."
    )
    upstream_timeout_seconds: float = Field(
        600.0, gt=0, description="How long one upstream generation may take."
    )
    gateway_url: str | None = Field(
        None,
        description="The vendor's gateway (e.g. https://blockrun.ai/api); serves the minimax/* "
        "models paid from the wallet when no MiniMax key is set.",
    )
    gateway_poll_seconds: float = Field(
        5.0, gt=0, le=60, description="How often a queued gateway job is polled."
    )

    sglang_omni_url: str | None = Field(
        None,
        description="Base URL of an SGLang-Omni server running MiniMax Music 3 (MiniMax's "
        "self-host recipe); serves the sglang/minimax-music-3 model when set.",
    )
    sglang_omni_model: str = Field(
        "MiniMax-Music-3", description="The model name sent to the SGLang-Omni server.")
    sglang_omni_api_key: str | None = Field(
        None, description="Bearer token for the SGLang-Omni server, if it wants one.")

    # -- local neural models (the `neural` extra) -------------------------------------------
    local_models: dict[str, LocalModel] = Field(
        default_factory=dict,
        description="Open-weights models served from local folders, as a JSON object: model "
        'id -> {"pipeline", "path", "device", "dtype", ...}, e.g. {"local/ace-step-1.5": '
        '{"pipeline": "ace-step-1.5", "path": "/models/ace-step", "device": "cuda:0"}}.',
    )

    # -- jobs --------------------------------------------------------------------------------
    workers: int = Field(2, ge=1, le=64, description="Worker processes that generate tracks.")
    queue_limit: int = Field(
        32, ge=1, description="Jobs queued or running at once; more get 429 with Retry-After."
    )
    sync_wait_seconds: float = Field(
        60.0, ge=0, description="How long POST waits for the track before answering 202."
    )
    job_deadline_seconds: float = Field(
        900.0, gt=0, description="A job still running after this long is failed (504)."
    )
    max_attempts: int = Field(
        2, ge=1, le=5, description="Runs a job gets when its worker dies (crash, restart)."
    )

    # -- storage -----------------------------------------------------------------------------
    url_ttl_seconds: int = Field(
        86400, ge=60, description="Lifetime of a stored track and of its signed link."
    )
    signing_secret: str | None = Field(
        None, description="HMAC key for track links (default: generated once in data_dir)."
    )

    # -- payments (x402) --------------------------------------------------------------------
    payments_enabled: bool = Field(False, description="Ask for an x402 payment per generation.")
    pay_to: str | None = Field(None, description="Address that receives payments (0x...).")
    network: str = Field(
        "eip155:8453", description="eip155:8453 (Base) or eip155:84532 (Base Sepolia)."
    )
    prices_usd: dict[str, float] = Field(
        default_factory=lambda: {
            BUILTIN_MODEL: 0.01,
            "minimax/music-3.0": 0.1575,
            "minimax/music-3.0-free": 0.1575,
            "minimax/music-2.5+": 0.1575,
            "minimax/music-2.6": 0.1575,
            "minimax/music-2.0": 0.1575,
        },
        description="Price per track for each model, in USD (JSON object).",
    )
    facilitator_url: str | None = Field(
        None, description="x402 facilitator base URL (default: the local ledger facilitator)."
    )
    facilitator_token: str | None = Field(
        None, description="Bearer token sent to the facilitator."
    )

    # -- paying client, wallet and router -------------------------------------------------------
    wallet_key: str | None = Field(
        None, description="Private key (0x...) that pays; overrides the file."
    )
    wallet_file: Path = Field(
        Path("~/.tunesmith/wallet.key"), description="Key file made by `tunesmith wallet create`."
    )
    max_usd_per_request: float = Field(0.50, ge=0, description="Spend cap for one call.")
    max_usd_per_day: float = Field(5.00, ge=0, description="Spend cap per UTC day.")
    router_upstream: str = Field(
        "http://127.0.0.1:8000", description="Server the local router forwards to and pays."
    )
    router_port: int = Field(8402, ge=1, le=65535, description="Port of `tunesmith router`.")

    @field_validator("data_dir")
    @classmethod
    def _absolute_data_dir(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @field_validator("local_models")
    @classmethod
    def _local_model_ids(cls, value: dict[str, LocalModel]) -> dict[str, LocalModel]:
        for model_id in value:
            if not _MODEL_ID.fullmatch(model_id) or model_id == BUILTIN_MODEL:
                raise ValueError(f"TUNESMITH_LOCAL_MODELS: {model_id!r} is not a usable model id; "
                                 "use owner/name (letters, digits, . _ + -), e.g. local/ace-step")
        return value

    @model_validator(mode="after")
    def _check_secret(self) -> Settings:
        if self.signing_secret is not None and len(self.signing_secret) < 16:
            raise ValueError("TUNESMITH_SIGNING_SECRET must be at least 16 characters long")
        if self.payments_enabled and not self.pay_to:
            raise ValueError("TUNESMITH_PAY_TO must be set when TUNESMITH_PAYMENTS_ENABLED is true")
        if self.network not in ("eip155:8453", "eip155:84532"):
            raise ValueError(
                "TUNESMITH_NETWORK must be eip155:8453 (Base) or eip155:84532 (Base Sepolia)"
            )
        return self

    @cached_property
    def resolved_database_url(self) -> str:
        """The job database URL, defaulting to SQLite inside ``data_dir``."""
        return self.database_url or f"sqlite:///{self.data_dir / 'tunesmith.db'}"

    @cached_property
    def tracks_dir(self) -> Path:
        return self.data_dir / "tracks"

    def secret_bytes(self) -> bytes:
        """The link-signing key: the setting, else a random key kept in ``data_dir``."""
        if self.signing_secret:
            return self.signing_secret.encode()
        path = self.data_dir / "signing.key"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_hex(32))
            path.chmod(0o600)
        return path.read_text().strip().encode()
