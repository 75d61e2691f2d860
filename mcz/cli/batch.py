"""Batch jobs for the CLI: expand inputs, plan outputs, run with a progress bar.

Each input maps to one output; failures are reported one line each and the batch
goes on, so one bad file never loses the others' output.
"""

from __future__ import annotations

import dataclasses
import glob
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from mcz import remote
from mcz.errors import ExitCode, InputNotFoundError, McZError, UsageError

if TYPE_CHECKING:  # pragma: no cover
    from mcz.executors import Executor, Outcome
    from mcz.executors.manifest import Manifest, Row


@dataclass(frozen=True)
class Job:
    """One input file and where its output goes: a local path, or an fsspec URL (``url``)."""

    src: Path
    dst: Path  # every job is planned with its output path (plan_jobs); for a URL job, the output's name
    url: str | None = None  # s3://..., file://...: the worker writes dst in a local temporary folder, then uploads

    @property
    def output(self) -> str:
        """Where the output goes, as the result lines and the manifest name it (the URL, else the path)."""
        return self.url if self.url is not None else str(self.dst)


def job_for(src: Path, output: str) -> Job:
    """The job writing ``src``'s output to ``output``, a local path or a URL."""
    if remote.is_url(output):
        return Job(src, Path(remote.name(output)), url=output)
    return Job(src, Path(output))


def is_folder(output: str) -> bool:
    """Whether ``output`` names a folder: it ends with a separator or is an existing folder (path or URL)."""
    return output.endswith(("/", "\\")) or remote.is_dir(output)


def expand_inputs(items: Iterable[str], suffixes: tuple[str, ...]) -> list[tuple[Path, Path | None]]:
    """Files named, files under folders (recursive, by suffix) and glob matches.

    Returns (file, root) pairs; ``root`` is the folder argument a file was found
    under (to mirror its relative path in the output folder), else None.
    """
    found: list[tuple[Path, Path | None]] = []
    for item in items:
        path = Path(item)
        if remote.is_url(item):
            raise InputNotFoundError(f"input {item} is a URL; expected a local file, folder or pattern. mcz "
                                     "writes to URLs but reads from local paths: mount the store, or copy the "
                                     "files here first")
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and _matches(p, suffixes))
            if not files:
                raise InputNotFoundError(f"folder {path} has no files ending in {', '.join(suffixes)}")
            found += [(p, path) for p in files]
        elif path.is_file():
            found.append((path, None))
        elif glob.has_magic(item):
            matches = sorted(Path(p) for p in glob.glob(item, recursive=True) if Path(p).is_file())
            if not matches:
                raise InputNotFoundError(f"pattern {item!r} matched no file")
            found += [(p, None) for p in matches]
        else:
            raise InputNotFoundError(f"input {item} does not exist; check the path")
    return found


def _matches(path: Path, suffixes: tuple[str, ...]) -> bool:
    name = path.name.lower()
    return any(name.endswith(s) for s in suffixes)


def plan_jobs(
    inputs: list[tuple[Path, Path | None]],
    output: str | None,
    name_for: Callable[[Path], str],
) -> list[Job]:
    """Decide every output path before any work starts (and refuse clashes)."""
    if remote.is_url(output):
        remote.filesystem(str(output))  # a protocol fsspec cannot serve fails here, before any work
    single = len(inputs) == 1 and inputs[0][1] is None
    if output is not None and single and not is_folder(output):
        return [job_for(inputs[0][0], output)]
    jobs = []
    for src, root in inputs:
        if output is None:
            jobs.append(Job(src, src.parent / name_for(src)))
            continue
        rel = src.parent.relative_to(root) if root is not None else Path()
        inside = remote.join(output, *rel.parts, name_for(src)) if remote.is_url(output) \
            else str(Path(output) / rel / name_for(src))
        jobs.append(job_for(src, inside))
    _refuse_clashes(jobs)
    return jobs


def _refuse_clashes(jobs: list[Job]) -> None:
    seen: dict[str | Path, Path] = {}
    for job in jobs:
        key = job.url if job.url is not None else job.dst.resolve()
        if key in seen:
            raise UsageError(
                f"{seen[key]} and {job.src} would both be written to {job.output}; "
                "give them separate output folders"
            )
        seen[key] = job.src


@dataclass
class Result:
    """What one job's work returns: the result line's fields and the stderr lines it produced.

    Work runs in another process with ``--engine ray``, so it returns what the driver prints
    instead of printing or filling shared dictionaries.
    """

    record: dict
    messages: list[str] = field(default_factory=list)
    sha256: str | None = None


class _InWorker:
    """``work`` as a worker runs it: the output folder made first (a URL's output staged locally and
    uploaded), the source hashed for a manifest."""

    def __init__(self, work: Callable[[Job], Result], hash_source: bool, overwrite: bool = False) -> None:
        self.work = work
        self.hash_source = hash_source
        self.overwrite = overwrite

    def setup(self) -> None:
        """The wrapped work's ``setup``, if it has one."""
        setup = getattr(self.work, "setup", None)
        if callable(setup):
            setup()

    def __call__(self, job: Job) -> Result:
        if job.url is not None:
            result = self._to_url(job, job.url)
        else:
            job.dst.parent.mkdir(parents=True, exist_ok=True)
            result = self.work(job)
        if self.hash_source:
            # lazy: off the start-up path of the mcz command (mcz.cli.main)
            from mcz.executors.manifest import sha256_of

            result.sha256 = sha256_of(job.src)
        return result

    def _to_url(self, job: Job, url: str) -> Result:
        """Code into a temporary folder made here (a Ray worker may be on another node), upload, delete."""
        remote.check_new(url, self.overwrite)  # cheap, before the coding; the upload checks again
        with tempfile.TemporaryDirectory(prefix="mcz-stage-") as folder:
            staged = dataclasses.replace(job, dst=Path(folder) / job.dst.name)
            result = self.work(staged)
            remote.upload(staged.dst, url, overwrite=self.overwrite)
        result.record["output"] = url
        # The work names its output in its lines (a series' guideline warning): name the URL, not the stage.
        result.messages = [line.replace(str(staged.dst), url) for line in result.messages]
        return result


def run_jobs(
    jobs: list[Job], work: Callable[[Job], Result], executor: Executor, quiet: bool,
    manifest: Manifest | None = None, adopt: Callable[[Job], dict] | None = None, overwrite: bool = False,
) -> tuple[ExitCode, dict[Path, dict]]:
    """Run ``work`` on every job through ``executor``; report failures; return the exit code and results.

    Parameters
    ----------
    jobs : list of Job
        The planned jobs.
    work : callable
        ``work(job) -> Result``; picklable (it may run in a Ray actor).
    executor : Executor
        Where the work runs (:func:`mcz.executors.get_executor`).
    quiet : bool
        No progress bar.
    manifest : Manifest, optional
        Resumable record: jobs it lists as done are skipped, failed ones retried, and
        every outcome of this run is added to it.
    adopt : callable, optional
        With a manifest: ``adopt(job) -> record`` for a job whose output exists but which the
        manifest does not list (a run killed between the output's rename and the manifest's
        flush); outputs are written atomically, so such an output is complete.
    overwrite : bool
        ``--force``: replace existing outputs at URLs (``work`` checks local outputs itself).

    Returns
    -------
    (ExitCode, dict)
        The batch's exit code (8 when some but not all failed) and the result record of
        every job that succeeded in this run, by ``Job.src``.
    """
    # lazy: off the start-up path of the mcz command (mcz.cli.main)
    from rich.progress import Progress

    todo = _resume(jobs, manifest, adopt, executor.name) if manifest is not None else jobs
    failures: list[tuple[Job, McZError]] = []
    results: dict[Path, dict] = {}
    with Progress(disable=quiet or len(todo) < 2 or not sys.stderr.isatty(), transient=True) as bar:
        task = bar.add_task(f"coding ({executor.describe()})", total=len(todo))

        def done(outcome: Outcome) -> None:
            job = todo[outcome.index]
            if outcome.ok:
                results[job.src] = outcome.value.record
                for line in outcome.value.messages:
                    print(line, file=sys.stderr)
            else:
                assert outcome.error is not None  # Outcome.ok is False exactly when an error was recorded
                failures.append((job, outcome.error))
                print(f"mcz: {job.src}: {outcome.error}", file=sys.stderr)
            if manifest is not None:
                manifest.add(_row(job, outcome, executor.name))
            bar.advance(task)

        try:
            executor.run(_InWorker(work, manifest is not None, overwrite), todo, done)
        finally:
            if manifest is not None:
                manifest.compact()
    return _batch_code(todo, failures), results


def _resume(jobs: list[Job], manifest: Manifest, adopt: Callable[[Job], dict] | None, engine: str) -> list[Job]:
    """The jobs still to run: those the manifest does not list as done (same size, output present).

    An output at a URL is looked up there, one request per file listed as done.
    """
    done = manifest.read()
    todo: list[Job] = []
    for job in jobs:
        row = done.get(str(job.src))
        if row is not None and row.status == "ok" and row.size == job.src.stat().st_size \
                and row.output and remote.exists(row.output):
            continue
        if row is None and done and adopt is not None and remote.exists(job.output):
            manifest.add(_adopted(job, adopt, engine))
            continue
        todo.append(job)
    if len(todo) < len(jobs):
        print(f"mcz: resuming: {len(jobs) - len(todo)} of {len(jobs)} files already done "
              f"(manifest {manifest.path})", file=sys.stderr)
    return todo


def _adopted(job: Job, adopt: Callable[[Job], dict], engine: str) -> Row:
    # lazy: off the start-up path of the mcz command (mcz.cli.main)
    from mcz.executors.base import Outcome
    from mcz.executors.manifest import sha256_of

    return _row(job, Outcome(-1, value=Result(adopt(job), sha256=sha256_of(job.src))), engine)


def _row(job: Job, outcome: Outcome, engine: str) -> Row:
    # lazy: off the start-up path of the mcz command (mcz.cli.main)
    from mcz.executors.manifest import Row

    record = outcome.value.record if outcome.ok else {}
    psnr = record.get("psnr_db")
    return Row(
        source=str(job.src), size=job.src.stat().st_size if job.src.exists() else -1,
        sha256=outcome.value.sha256 if outcome.ok else None,
        output=str(record.get("output", job.output)) if outcome.ok else None,
        bpp=record.get("bpp"), ratio=record.get("compression_ratio"),
        psnr=float("inf") if psnr == "inf" else psnr,
        status="ok" if outcome.ok else "failed", error=None if outcome.ok else str(outcome.error),
        engine=engine, seconds=outcome.seconds, finished=time.time(),
    )


def print_summary(jobs: list[Job], summary: Mapping[Path, str]) -> None:
    """``SRC -> DST: LINE`` for every job that has a summary line."""
    for job in jobs:
        if job.src in summary:
            print(f"{job.src} -> {job.output}: {summary[job.src]}")


def _batch_code(jobs: list[Job], failures: list[tuple[Job, McZError]]) -> ExitCode:
    if not failures:
        return ExitCode.OK
    if len(jobs) == 1:
        return failures[0][1].exit_code
    print(f"mcz: {len(failures)} of {len(jobs)} files failed", file=sys.stderr)
    return ExitCode.PARTIAL_BATCH
