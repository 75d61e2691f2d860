"""Batch jobs for the CLI: expand inputs, plan outputs, run with a progress bar.

Each input maps to one output; failures are reported one line each and the batch
goes on, so one bad file never loses the others' output.
"""

from __future__ import annotations

import glob
import sys
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from mcz.errors import ExitCode, InputNotFoundError, McZError, OutputError, UsageError


@dataclass(frozen=True)
class Job:
    """One input file and the path its output goes to."""

    src: Path
    dst: Path | None


def expand_inputs(items: Iterable[str], suffixes: tuple[str, ...]) -> list[tuple[Path, Path | None]]:
    """Files named, files under folders (recursive, by suffix) and glob matches.

    Returns (file, root) pairs; ``root`` is the folder argument a file was found
    under (to mirror its relative path in the output folder), else None.
    """
    found: list[tuple[Path, Path | None]] = []
    for item in items:
        path = Path(item)
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
    single = len(inputs) == 1 and inputs[0][1] is None
    if output is not None and single and not output.endswith(("/", "\\")) and not Path(output).is_dir():
        return [Job(inputs[0][0], Path(output))]
    out_dir = Path(output) if output is not None else None
    jobs = []
    for src, root in inputs:
        rel = src.parent.relative_to(root) if root is not None and out_dir is not None else Path()
        folder = (out_dir / rel) if out_dir is not None else src.parent
        jobs.append(Job(src, folder / name_for(src)))
    _refuse_clashes(jobs)
    return jobs


def _refuse_clashes(jobs: list[Job]) -> None:
    seen: dict[Path, Path] = {}
    for job in jobs:
        key = job.dst.resolve() if job.dst else None
        if key in seen:
            raise UsageError(
                f"{seen[key]} and {job.src} would both be written to {job.dst}; "
                "give them separate output folders"
            )
        seen[key] = job.src


def run_jobs(
    jobs: list[Job], work: Callable[[Job], Path], workers: int, quiet: bool,
    summary: Mapping[Path, str] | None = None,
) -> ExitCode:
    """Run ``work`` on every job; report failures; return the batch's exit code.

    ``summary`` (filled by ``work``, keyed by ``Job.src``) holds one line per file,
    e.g. the quality a target chose and what it achieved; it is printed to stdout
    after the batch, in job order.
    """
    from rich.progress import Progress

    failures: list[tuple[Job, McZError]] = []
    with Progress(disable=quiet or len(jobs) < 2 or not sys.stderr.isatty(), transient=True) as bar:
        task = bar.add_task("coding", total=len(jobs))

        def one(job: Job) -> None:
            try:
                if job.dst is not None:
                    job.dst.parent.mkdir(parents=True, exist_ok=True)
                work(job)
            except McZError as exc:
                failures.append((job, exc))
                print(f"mcz: {job.src}: {exc}", file=sys.stderr)
            except OSError as exc:
                err = OutputError(f"{exc}")
                failures.append((job, err))
                print(f"mcz: {job.src}: {exc}", file=sys.stderr)
            except Exception as exc:  # noqa: BLE001 - one file's bug must not abort the others
                failures.append((job, _internal(exc)))
                print(f"mcz: {job.src}: internal error {type(exc).__name__}: {exc}", file=sys.stderr)
            bar.advance(task)

        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            list(pool.map(one, jobs))
    print_summary(jobs, summary or {})
    return _batch_code(jobs, failures)


def _internal(exc: Exception) -> McZError:
    """An unexpected exception of one job as that job's failure (exit code INTERNAL)."""
    error = McZError(
        f"internal error {type(exc).__name__}: {exc}; this is a bug in mcz, please report it with the file"
    )
    error.__cause__ = exc
    return error


def print_summary(jobs: list[Job], summary: Mapping[Path, str]) -> None:
    """``SRC -> DST: LINE`` for every job that has a summary line."""
    for job in jobs:
        if job.src in summary:
            print(f"{job.src} -> {job.dst}: {summary[job.src]}")


def _batch_code(jobs: list[Job], failures: list[tuple[Job, McZError]]) -> ExitCode:
    if not failures:
        return ExitCode.OK
    if len(jobs) == 1:
        return failures[0][1].exit_code
    print(f"mcz: {len(failures)} of {len(jobs)} files failed", file=sys.stderr)
    return ExitCode.PARTIAL_BATCH
