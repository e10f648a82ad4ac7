"""The ``tunesmith`` command: serve, generate, models, analyze, wallet, ledger, router."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from tunesmith.config import Settings

app = typer.Typer(help="tunesmith: music generation API, composer and client.",
                  no_args_is_help=True, add_completion=False)
err = Console(stderr=True)


def _settings(**overrides: Any) -> Settings:
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValueError as exc:
        err.print(f"[red]configuration error:[/red] {exc}")
        raise typer.Exit(2) from exc


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    workers: Annotated[int | None, typer.Option(help="Worker processes.")] = None,
) -> None:
    """Start the HTTP API with its worker processes."""
    import uvicorn

    from tunesmith.api.app import build_app

    settings = _settings(host=host, port=port, workers=workers)
    url = f"http://{settings.host}:{settings.port}"
    err.print(f"tunesmith serving on [bold]{url}[/bold]  (data in {settings.data_dir})")
    err.print(f"  try: curl -X POST {url}/v1/audio/generations -H 'Content-Type: "
              "application/json' -d '{\"prompt\":\"chill lo-fi hip hop\",\"instrumental\":true}'")
    uvicorn.run(build_app(settings), host=settings.host, port=settings.port,
                log_level="info", timeout_graceful_shutdown=10)


@app.command()
def generate(
    prompt: Annotated[str, typer.Argument(help="Music style, mood or description.")],
    lyrics_file: Annotated[Path | None, typer.Option(help="File with lyrics to sing.")] = None,
    instrumental: Annotated[bool, typer.Option(help="No vocals.")] = False,
    duration: Annotated[int, typer.Option(help="Length in seconds, 5-240.")] = 30,
    seed: Annotated[int | None,
                    typer.Option(help="Seed: same request + seed = same track.")] = None,
    model: Annotated[str | None,
                     typer.Option(help="Model id (see `tunesmith models`).")] = None,
    output: Annotated[Path, typer.Option("-o", "--output",
                                         help="Where to write the MP3.")] = Path("track.mp3"),
    server: Annotated[str | None,
                      typer.Option(help="Use this server instead of generating here.")] = None,
    as_json: Annotated[bool,
                       typer.Option("--json", help="Print the API response as JSON.")] = False,
    pay: Annotated[bool, typer.Option("--pay/--no-pay",
                                      help="With --server: pay a 402 from the wallet, within "
                                           "the spend caps.")] = True,
) -> None:
    """Make one track, here (default) or on a server, and save it."""
    from tunesmith.api.schemas import GenerationBody

    lyrics = lyrics_file.read_text() if lyrics_file else None
    try:
        body = GenerationBody(prompt=prompt, lyrics=lyrics, instrumental=instrumental,
                              duration_seconds=duration, seed=seed, model=model)
    except ValueError as exc:
        err.print(f"[red]invalid request:[/red] {_first_error(exc)}")
        raise typer.Exit(2) from exc
    with _progress_reporter() as report:
        if server:
            response = _generate_remote(server, body, output, report, pay)
        else:
            response = _generate_local(body, output, report)
    if as_json:
        typer.echo(json.dumps(response, indent=2))
    else:
        item = response["data"][0]
        err.print(f"saved {output} ({item['duration_seconds']} s, seed {item['seed']})")


def _first_error(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        return f"{where}: {first['msg']}" if where else str(first["msg"])
    return str(exc)


def _generate_remote(server: str, body: Any, output: Path, report: Any,
                     pay: bool = True) -> dict[str, Any]:
    from tunesmith.client import Client, PaymentRequiredError, TunesmithError

    handler = _wallet_payer() if pay else None
    try:
        with Client(server, pay=handler) as client:
            result = client.generate(**body.model_dump(exclude_none=True), on_progress=report)
            client.download(result.data[0].url, output)
    except TunesmithError as exc:
        err.print(f"[red]error:[/red] {exc}")
        if isinstance(exc, PaymentRequiredError) and handler is None:
            err.print("this server charges per track: create a wallet (`tunesmith wallet "
                      "create`), fund it, and call again with --pay")
        raise typer.Exit(1) from exc
    if result.receipt:
        err.print(f"paid: transaction {result.receipt}")
    return result.raw


def _wallet_payer() -> Any:
    """The SDK payment handler for the configured wallet, or None when there is no wallet."""
    from tunesmith.client import pay_with
    from tunesmith.payments import SpendPolicy, Wallet, WalletError

    settings = _settings()
    try:
        wallet = Wallet.from_settings(settings)
    except WalletError:
        return None
    return pay_with(wallet, SpendPolicy.from_settings(settings))


def _generate_local(body: Any, output: Path, report: Any) -> dict[str, Any]:
    import secrets
    import shutil
    import time

    from tunesmith.engines.base import EngineError, GenerationRequest
    from tunesmith.engines.registry import default_model, load_engine, model_entries

    settings = _settings()
    model_id = body.model or default_model(settings)
    entry = model_entries(settings).get(model_id)
    if entry is None or not entry.available:
        reason = entry.unavailable_reason if entry else "unknown model"
        err.print(f"[red]model {model_id} cannot run here:[/red] {reason}")
        raise typer.Exit(2)
    seed = body.seed if body.seed is not None else secrets.randbelow(2**31)
    request = GenerationRequest(model=model_id, seed=seed, **body.engine_request())
    with tempfile.TemporaryDirectory(prefix="tunesmith-") as tmp:
        try:
            track = load_engine(entry, settings).generate(request, report, Path(tmp))
        except EngineError as exc:
            err.print(f"[red]generation failed:[/red] {exc}")
            raise typer.Exit(1) from exc
        output.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(track.path, output)
    plan = track.plan
    item = {"url": output.resolve().as_uri(), "duration_seconds": round(track.duration_seconds),
            "lyrics": track.lyrics, "seed": seed, "style": plan.get("style"),
            "bpm": plan.get("bpm"), "key": plan.get("key"),
            "time_signature": plan.get("time_signature"),
            "instruments": plan.get("instruments"), "sections": plan.get("sections")}
    return {"created": int(time.time()), "model": model_id,
            "data": [{k: v for k, v in item.items() if v is not None}]}


class _progress_reporter:
    """A rich progress bar on a terminal, plain lines otherwise."""

    def __enter__(self) -> Any:
        self._last = ""
        if sys.stderr.isatty():
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            self._bar: Any = Progress(TextColumn("{task.description:<14}"), BarColumn(),
                                      TextColumn("{task.percentage:>3.0f}%"),
                                      TimeElapsedColumn(), console=err, transient=True)
            self._bar.start()
            self._task = self._bar.add_task("queued", total=1.0)
        else:
            self._bar = None
        return self.report

    def report(self, fraction: float, stage: str) -> None:
        if self._bar is not None:
            self._bar.update(self._task, completed=fraction, description=stage)
        elif stage != self._last:
            self._last = stage
            err.print(f"{stage} {fraction:.0%}", highlight=False)

    def __exit__(self, *exc: Any) -> None:
        if self._bar is not None:
            self._bar.stop()


@app.command()
def models(
    server: Annotated[str | None, typer.Option(help="List a server's models.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List models with price, capabilities and availability."""
    if server:
        from tunesmith.client import Client

        with Client(server) as client:
            rows = client.models()
    else:
        from tunesmith.api.routes import _model_json
        from tunesmith.engines.registry import model_entries

        rows = [_model_json(e) for e in model_entries(_settings()).values()]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    from rich.table import Table

    table = Table("model", "price/track", "lyrics", "instrumental", "durations", "available")
    for m in rows:
        table.add_row(m["id"], f"${m['pricing']['per_track']:.4f}", _yes(m["supports_lyrics"]),
                      _yes(m["supports_instrumental"]),
                      f"{m['min_duration_seconds']}-{m['max_duration_seconds']} s",
                      "yes" if m["available"] else f"no: {m['unavailable_reason']}")
    Console().print(table)


@app.command()
def analyze(
    file: Annotated[Path, typer.Argument(help="Audio file (MP3, WAV, FLAC...).", exists=True,
                                         dir_okay=False)],
    png: Annotated[Path | None, typer.Option(help="Also draw a spectrogram picture here.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Tempo, key, loudness, true peak, duration and sections of a track."""
    from tunesmith.audio.analysis import analyze_file, summary_lines, write_spectrogram_png
    from tunesmith.audio.codec import AudioFormatError

    try:
        result = analyze_file(file)
    except AudioFormatError as exc:
        err.print(f"[red]cannot analyze:[/red] {exc}")
        raise typer.Exit(2) from exc
    if png:
        write_spectrogram_png(file, png)
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
    else:
        for line in summary_lines(result):
            typer.echo(line)
    if png:
        err.print(f"spectrogram written to {png}")


wallet_app = typer.Typer(help="The local wallet that pays x402 servers.", no_args_is_help=True)
ledger_app = typer.Typer(help="The server's local payment ledger (in the data dir).",
                         no_args_is_help=True)
app.add_typer(wallet_app, name="wallet")
app.add_typer(ledger_app, name="ledger")


@wallet_app.command("create")
def wallet_create(
    file: Annotated[Path | None, typer.Option(help="Key file (default: wallet_file).")] = None,
) -> None:
    """Make a new key file (mode 0600); never overwrites one."""
    from tunesmith.payments import Wallet, WalletError

    target = file or _settings().wallet_file
    try:
        wallet = Wallet.create(target)
    except WalletError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    typer.echo(wallet.address)
    err.print(f"wallet key written to {wallet.path} (keep it secret; back it up)")


@wallet_app.command("show")
def wallet_show(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
                ) -> None:
    """The paying address, where its key comes from, and today's spend against the caps."""
    from tunesmith.payments import SpendPolicy, Wallet, WalletError

    settings = _settings()
    try:
        wallet = Wallet.from_settings(settings)
    except WalletError as exc:
        err.print(f"[red]{exc}[/red]; run `tunesmith wallet create`")
        raise typer.Exit(1) from exc
    policy = SpendPolicy.from_settings(settings)
    info = {"address": wallet.address,
            "source": "TUNESMITH_WALLET_KEY" if settings.wallet_key else str(wallet.path),
            "network": settings.network, "spent_today_usd": str(policy.spent_today()),
            "max_usd_per_request": settings.max_usd_per_request,
            "max_usd_per_day": settings.max_usd_per_day}
    _print_record(info, as_json)


def _ledger() -> Any:
    from tunesmith.payments import LedgerFacilitator

    settings = _settings()
    if settings.facilitator_url:
        err.print("[yellow]note:[/yellow] this server uses the facilitator at "
                  f"{settings.facilitator_url}; the local ledger is not what it charges")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return LedgerFacilitator(f"sqlite:///{settings.data_dir / 'ledger.db'}",
                             network=settings.network)


@ledger_app.command("fund")
def ledger_fund(
    address: Annotated[str, typer.Argument(help="0x address to credit.")],
    amount: Annotated[str, typer.Argument(help="USD (USDC) to credit, e.g. 5 or 0.25.")],
) -> None:
    """Credit test USDC to an address on the local ledger (a faucet; no real money)."""
    try:
        balance = _ledger().fund(address, amount)
    except ValueError as exc:
        err.print(f"[red]cannot fund:[/red] {exc}")
        raise typer.Exit(2) from exc
    from tunesmith.payments import atomic_to_usd

    typer.echo(f"{address}: {atomic_to_usd(balance)} USDC")


@ledger_app.command("balance")
def ledger_balance(address: Annotated[str, typer.Argument(help="0x address.")]) -> None:
    """An address's balance on the local ledger."""
    try:
        typer.echo(f"{address}: {_ledger().balance(address)} USDC")
    except ValueError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc


@ledger_app.command("payments")
def ledger_payments(
    status: Annotated[str | None, typer.Option(help="Only this status (reserved, settling, "
                                                       "settled, released, failed).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Every payment the server took, for reconciliation: payer, amount, job, status, tx."""
    from tunesmith.jobs.store import make_engine
    from tunesmith.payments import PaymentRecords, atomic_to_usd, create_tables

    engine = make_engine(_settings().resolved_database_url)
    create_tables(engine)
    rows = [{"created": r.created_at.isoformat(timespec="seconds"), "payer": r.payer,
             "usd": str(atomic_to_usd(r.amount)), "model": r.model, "job": r.job_id,
             "status": r.status, "tx": r.tx_hash, "reason": r.reason}
            for r in PaymentRecords(engine).list(status, limit=100_000)]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    from rich.table import Table

    table = Table("created", "payer", "usd", "job", "status", "tx / reason")
    for row in rows:
        table.add_row(row["created"], row["payer"], row["usd"], row["job"] or "-",
                      row["status"], row["tx"] or row["reason"] or "")
    Console().print(table)


@app.command("router")
def router_command(
    port: Annotated[int | None, typer.Option(help="Port on 127.0.0.1 (default 8402).")] = None,
    upstream: Annotated[str | None, typer.Option(
        help="Server to forward to and pay (ours, or https://blockrun.ai/api).")] = None,
) -> None:
    """A local paying proxy: call it without payment headers; it pays from your wallet."""
    import uvicorn

    from tunesmith.payments import WalletError
    from tunesmith.router import build_router_app

    settings = _settings(router_port=port, router_upstream=upstream)
    try:
        router_app = build_router_app(settings)
    except WalletError as exc:
        err.print(f"[red]no wallet to pay with:[/red] {exc}; run `tunesmith wallet create` "
                  "or set TUNESMITH_WALLET_KEY")
        raise typer.Exit(1) from exc
    err.print(f"tunesmith router on [bold]http://127.0.0.1:{settings.router_port}[/bold] -> "
              f"{settings.router_upstream} (caps ${settings.max_usd_per_request}/call, "
              f"${settings.max_usd_per_day}/day)")
    uvicorn.run(router_app, host="127.0.0.1", port=settings.router_port, log_level="info")


def _print_record(info: dict[str, Any], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(info, indent=2))
        return
    for key, value in info.items():
        typer.echo(f"{key}: {value}")


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def main() -> None:
    app()
