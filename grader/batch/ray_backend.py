"""The Ray backend: the same :class:`~grader.backends.TrustedGrader`, as Ray actors.

Each actor is one trusted process holding one Grader (one torch import per actor, not per student),
fed one student at a time. ``RAY_ADDRESS`` names a running cluster; without it a local cluster is
started for the batch and shut down after it. With ``--device cuda`` each actor asks for a whole GPU
(``num_gpus=1``), so a timed run has its GPU to itself; with timing on, an actor also claims and pins
a core of its node as the local backend does. On a cluster of several machines the course and the
submissions folder must be at the same paths on every node (a shared file system).
"""

from __future__ import annotations

import os
from collections import deque
from dataclasses import dataclass
from typing import Callable

from grader.grading.pool import GraderSpec, Job, Outcome, TrustedGrader
from grader.errors import GraderError


def import_ray():
    try:
        import ray
    except ImportError:
        raise GraderError("--backend ray needs Ray: pip install -e '.[ray]'") from None
    return ray


@dataclass
class RayBackend:
    spec: GraderSpec
    workers: int | None  # None: one actor per CPU (per GPU with --device cuda) of the cluster

    def describe(self) -> str:
        where = os.environ.get("RAY_ADDRESS") or "a local Ray cluster"
        if self.workers is None:
            unit = "GPU" if self.spec.settings.device.startswith("cuda") else "CPU"
            return f"one Ray actor per {unit} of {where}"
        return f"{self.workers} Ray actor{'s' if self.workers != 1 else ''} on {where}"

    def _actors(self, ray, count: int) -> list:
        cuda = self.spec.settings.device.startswith("cuda")
        actor = ray.remote(num_cpus=1, num_gpus=1 if cuda else 0, max_restarts=0)(TrustedGrader)
        return [actor.remote(self.spec) for _ in range(count)]

    def run(self, jobs: list[Job], on_outcome: Callable[[Outcome], bool]) -> None:
        """Grade ``jobs`` on Ray actors; ``on_outcome`` is called as each finishes, False stops early."""
        ray = import_ray()
        started_here = not ray.is_initialized()
        if started_here:
            if os.environ.get("RAY_ADDRESS"):
                ray.init(logging_level="WARNING", log_to_driver=False)
            else:
                ray.init(num_cpus=len(os.sched_getaffinity(0)), include_dashboard=False,
                         object_store_memory=128 * 2**20, logging_level="WARNING", log_to_driver=False)
        actors: list = []
        try:
            resources = ray.cluster_resources()
            unit = "GPU" if self.spec.settings.device.startswith("cuda") else "CPU"
            capacity = int(resources.get(unit, 0))
            if capacity < 1:
                raise GraderError(f"the Ray cluster has no {unit} for a grading actor")
            count = min(self.workers or capacity, capacity, len(jobs))
            actors = self._actors(ray, count)
            self._dispatch(ray, actors, deque(jobs), on_outcome)
            # Idle actors close their sandboxes; after an interrupt they are killed at once below.
            ray.get([a.close.remote() for a in actors], timeout=60)
        finally:
            for a in actors:
                ray.kill(a)
            if started_here:
                ray.shutdown()

    def _dispatch(self, ray, actors: list, pending: deque, on_outcome) -> None:
        in_flight: dict = {}  # ObjectRef -> (actor index, job)
        stopping = False

        def submit(i: int) -> None:
            if pending and not stopping:
                job = pending.popleft()
                in_flight[actors[i].grade.remote(job)] = (i, job)

        for i in range(len(actors)):
            submit(i)
        while in_flight:
            done, _ = ray.wait(list(in_flight), num_returns=1)
            i, job = in_flight.pop(done[0])
            try:
                outcome = ray.get(done[0])
            except ray.exceptions.RayActorError as exc:
                if getattr(exc, "actor_init_failed", False):
                    raise GraderError(f"a Ray grading actor could not start: {exc}") from None
                outcome = Outcome(job.student, None, f"the Ray actor grading it died ({type(exc).__name__})")
                ray.kill(actors[i])
                actors[i] = self._actors(ray, 1)[0]
            stopping |= on_outcome(outcome) is False
            submit(i)
