"""The ``tunesmith`` command: serve, generate, models, analyze."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Annotated, Any, Optional

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
    host: Annotated[Optional[str], typer.Option(help="Address to listen on.")] = None,
    port: Annotated[Optional[int], typer.Option(help="Port to listen on.")] = None,
    workers: Annotated[Optional[int], typer.Option(help="Worker processes.")] = None,
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
    lyrics_file: Annotated[Optional[Path], typer.Option(help="File with lyrics to sing.")] = None,
    instrumental: Annotated[bool, typer.Option(help="No vocals.")] = False,
    duration: Annotated[int, typer.Option(help="Length in seconds, 5-240.")] = 30,
    seed: Annotated[Optional[int], typer.Option(help="Seed: same request + seed = same track.")] = None,
    model: Annotated[Optional[str], typer.Option(help="Model id (see `tunesmith models`).")] = None,
    output: Annotated[Path, typer.Option("-o", "--output", help="Where to write the MP3.")] = Path("track.mp3"),
    server: Annotated[Optional[str], typer.Option(help="Use this server instead of generating here.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the API response as JSON.")] = False,
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
            response = _generate_remote(server, body, output, report)
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


def _generate_remote(server: str, body: Any, output: Path, report: Any) -> dict[str, Any]:
    from tunesmith.client import Client, TunesmithError

    try:
        with Client(server) as client:
            result = client.generate(**body.model_dump(exclude_none=True), on_progress=report)
            client.download(result.data[0].url, output)
    except TunesmithError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc
    return result.raw


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
    item = {"url": output.resolve().as_uri(), "duration_seconds": int(round(track.duration_seconds)),
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
    server: Annotated[Optional[str], typer.Option(help="List a server's models.")] = None,
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
    png: Annotated[Optional[Path], typer.Option(help="Also draw a spectrogram picture here.")] = None,
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


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def main() -> None:
    app()
