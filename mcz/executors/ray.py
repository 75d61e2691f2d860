"""The Ray executor: a pool of stateful actors on a Ray cluster (local or remote).

Each actor is one long-lived worker process that receives ``work`` once, calls its
``setup()`` once (load the model), then codes the items it is sent.  The driver keeps
``2 x workers`` items in flight and hands outcomes to ``done`` as they arrive, so a
manifest and the progress bar stay in the driver.  Why actors and not Ray Data: see
docs/scale.md.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

from mcz.errors import McZError, UsageError, require
from mcz.executors.base import Executor, Outcome, run_one

#: Environment variables an actor inherits from the driver (where models are found, mcz's home).
FORWARDED_ENV = ("MCZ_CHECKPOINTS", "MCZ_HOME", "OMP_NUM_THREADS")
#: Items queued per actor: one coding, one waiting, so an actor never idles on the round trip.
IN_FLIGHT_PER_WORKER = 2
#: Whether this process started the Ray cluster it is connected to (then its workers inherit this
#: process's environment, and actors need no runtime environment: that saves 3-4 s per job here).
_started_here = False


class _Worker:
    """The actor's body: ``work`` is unpickled and set up once per process."""

    def __init__(self, work: Callable[[Any], Any]) -> None:
        self.work = work
        setup = getattr(work, "setup", None)
        if callable(setup):
            setup()

    def run(self, index: int, item: Any) -> Outcome:
        return run_one(self.work, index, item)

    def pid(self) -> int:
        return os.getpid()


class RayExecutor(Executor):
    """Items coded by ``workers`` Ray actors, each with ``cpus_per_worker`` CPUs and ``gpus_per_worker`` GPUs.

    Parameters
    ----------
    workers : int, optional
        Number of actors (default: the cluster's CPUs // ``cpus_per_worker``).
    address : str, optional
        ``"auto"`` (a running cluster on this node), ``"ray://HOST:10001"`` (Ray Client), a GCS
        address, or None: connect to the cluster this process already joined, else start a
        local one.
    gpus_per_worker : float
        GPUs reserved per actor (fractions share a GPU); 0 on a CPU cluster.
    cpus_per_worker : float
        CPUs reserved per actor (default 1).
    """

    name = "ray"

    def __init__(self, workers: int | None = None, address: str | None = None, gpus_per_worker: float = 0,
                 cpus_per_worker: float = 1) -> None:
        if gpus_per_worker < 0 or cpus_per_worker <= 0:
            raise UsageError(f"found {cpus_per_worker} CPUs and {gpus_per_worker} GPUs per worker; "
                             "expected CPUs > 0 and GPUs >= 0")
        self.ray = require("ray", "ray")
        self.address = address
        self.gpus_per_worker = gpus_per_worker
        self.cpus_per_worker = cpus_per_worker
        self._connect()
        super().__init__(self._default_workers() if workers is None else workers)

    def _connect(self) -> None:
        global _started_here
        if self.ray.is_initialized():
            return
        kwargs: dict[str, Any] = {"address": self.address, "log_to_driver": True}
        if self.address is None:  # a local cluster: no dashboard, it costs seconds and a port
            kwargs["include_dashboard"] = False
        try:
            self.ray.init(**kwargs)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise UsageError(f"could not reach the Ray cluster at {self.address!r}: {exc}; expected 'auto' "
                             "(a cluster started with `ray start` here) or ray://HOST:10001") from exc
        # ray.init without an address starts a cluster unless RAY_ADDRESS names one.
        _started_here = self.address is None and not os.environ.get("RAY_ADDRESS")

    def _default_workers(self) -> int:
        resources = self.ray.cluster_resources()
        by_cpu = int(resources.get("CPU", 1) // self.cpus_per_worker)
        if self.gpus_per_worker:
            by_cpu = min(by_cpu, int(resources.get("GPU", 0) // self.gpus_per_worker))
        if by_cpu < 1:
            raise UsageError(f"the Ray cluster has {resources.get('CPU', 0)} CPUs and {resources.get('GPU', 0)} "
                             f"GPUs; one worker needs {self.cpus_per_worker} CPUs and {self.gpus_per_worker} GPUs")
        return by_cpu

    def _actor_class(self) -> Any:
        # A cluster started by this process already runs its workers in this environment; any other
        # gets the variables that decide where models are found and how many threads a worker uses.
        env = {} if _started_here else {name: os.environ[name] for name in FORWARDED_ENV if name in os.environ}
        return self.ray.remote(_Worker).options(
            num_cpus=self.cpus_per_worker, num_gpus=self.gpus_per_worker,
            runtime_env={"env_vars": env} if env else None,
            max_restarts=-1,  # a crashed worker process (OOM, segfault) is replaced; its item fails
        )

    def run(self, work: Callable[[Any], Any], items: Sequence[Any], done: Callable[[Outcome], None]) -> None:
        """See :meth:`Executor.run`; actors are created here and killed when the items are done."""
        if not items:
            return
        ray = self.ray
        # ``work`` goes with each actor's constructor (once per actor, not per item); passed by value, not as
        # an object-store ref, so that Ray can restart a crashed actor after the driver's ref is gone.
        cls = self._actor_class()
        actors = [cls.remote(work) for _ in range(min(self.workers, len(items)))]
        pending: dict[Any, tuple[int, Any]] = {}
        queue = iter(enumerate(items))
        try:
            for actor in actors:
                for _ in range(IN_FLIGHT_PER_WORKER):
                    self._submit(actor, queue, pending)
            while pending:
                [ref], _ = ray.wait(list(pending), num_returns=1)
                index, actor = pending.pop(ref)
                done(self._outcome(ref, index))
                self._submit(actor, queue, pending)
        finally:
            for actor in actors:
                ray.kill(actor)

    @staticmethod
    def _submit(actor: Any, queue: Any, pending: dict) -> None:
        nxt = next(queue, None)
        if nxt is not None:
            pending[actor.run.remote(*nxt)] = (nxt[0], actor)

    def _outcome(self, ref: Any, index: int) -> Outcome:
        try:
            return self.ray.get(ref)
        except self.ray.exceptions.RayError as exc:  # the worker died or could not start: this item fails
            return Outcome(index, error=McZError(f"Ray worker failed on this file: {type(exc).__name__}: "
                                                 f"{str(exc).splitlines()[0] if str(exc) else ''}"))

    def describe(self) -> str:
        """See :meth:`Executor.describe`."""
        gpus = f", {self.gpus_per_worker} GPU each" if self.gpus_per_worker else ""
        return f"ray ({self.workers} actor{'s' if self.workers != 1 else ''}{gpus})"
