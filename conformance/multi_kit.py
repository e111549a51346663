"""Several `latchkey serve` processes on one PostgreSQL database (issue 13, scale-out).

A `Cluster` is N instances (A, B, C, ...) of the real binary sharing one database URL, one master
key (A creates `master.key` in its data directory on first start; it is copied into the others'
before they start), one bootstrap API key and one public URL (A's), so every instance advertises
the same zone issuers and a token or client assertion made for one instance is meant for all.
Each instance listens on its own loopback port.

Because every URL the server hands out (issuers, token endpoints, redirects) names the public URL,
a client talking to one particular instance uses `PinnedTransport`: requests to the public origin
go to that instance's port instead, like a load balancer that always picks the same backend.

`Poller` sends one request at a fixed rate (20/s by default) from a background thread and keeps
every answer with its timestamps; `Poller.delay_after` measures how long after a change (made on
another instance) the polled instance's answers changed, and returns a readable verdict that names
the instance and the time waited.
"""

from __future__ import annotations

import contextlib
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Optional
from urllib.parse import urlsplit

import httpx
from keycardai_api import KeycardAPI

import lk

NAMES = "ABCDEFGH"


# --------------------------------------------------------------------------------------------
# Instances
# --------------------------------------------------------------------------------------------


@dataclass
class Instance(lk.LatchkeyServer):
    """A LatchkeyServer that advertises `public_url` (shared by the cluster) instead of its own."""

    name: str = "A"
    public_url: Optional[str] = None

    def command(self) -> list[str]:
        cmd = super().command()
        if self.public_url:
            cmd[cmd.index("--public-url") + 1] = self.public_url
        return cmd


class PinnedTransport(httpx.BaseTransport):
    """Sends every request for the public origin to one instance's port (other hosts unchanged).
    `local_address` makes connections leave from another 127.0.0.0/8 address."""

    def __init__(self, public_url: str, port: int, local_address: Optional[str] = None) -> None:
        origin = urlsplit(public_url)
        self.host, self.public_port = origin.hostname, origin.port
        self.port = port
        self.inner = httpx.HTTPTransport(local_address=local_address) if local_address else httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == self.host and request.url.port == self.public_port:
            request.url = request.url.copy_with(host="127.0.0.1", port=self.port)
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


@dataclass
class Cluster:
    """N instances on one database. `cluster["B"]` is instance B."""

    instances: list[Instance]
    database_url: str
    clients: list[Any] = field(default_factory=list)

    def __getitem__(self, name: str) -> Instance:
        return next(i for i in self.instances if i.name == name)

    @property
    def public_url(self) -> str:
        return self.instances[0].base_url

    @property
    def bootstrap_key(self) -> str:
        return self.instances[0].bootstrap_key

    def http(self, name: str, *, local_address: Optional[str] = None, **kw: Any) -> httpx.Client:
        """Plain HTTP to instance `name` (absolute public URLs, or paths below the public URL)."""
        kw.setdefault("timeout", 30.0)
        kw.setdefault("base_url", self.public_url)
        c = httpx.Client(transport=PinnedTransport(self.public_url, self[name].port, local_address), **kw)
        self.clients.append(c)
        return c

    def admin_http(self, name: str) -> httpx.Client:
        """Plain HTTP to instance `name` with the bootstrap key."""
        return self.http(name, headers={"Authorization": f"Bearer {self.bootstrap_key}"})

    def admin(self, name: str) -> KeycardAPI:
        """The management SDK as the platform admin, talking to instance `name` only."""
        c = KeycardAPI(
            api_key=self.bootstrap_key,
            base_url=self.public_url,
            max_retries=0,
            http_client=self.http(name),
        )
        self.clients.append(c)
        return c

    def close_clients(self) -> None:
        for c in self.clients:
            with contextlib.suppress(Exception):
                c.close()
        self.clients.clear()

    def log_tails(self, lines: int = 40) -> str:
        return "\n".join(f"== instance {i.name}\n{i.log_tail(lines)}" for i in self.instances)


@contextlib.contextmanager
def cluster(
    binary: Path,
    pg_admin_url: str,
    base_dir: Path,
    n: int = 3,
    extra_args: Optional[list[str]] = None,
) -> Iterator[Cluster]:
    """Starts `n` instances on a fresh PostgreSQL database; stops them and drops the database.

    A starts first (it migrates the database and writes `master.key`); its key file is copied into
    the other data directories, which then start one after the other with A's URL as public URL.
    """
    with lk.postgres_database(pg_admin_url) as url:
        started: list[Instance] = []
        key = lk.random_bootstrap_key()
        try:
            for i in range(n):
                name = NAMES[i]
                inst = Instance(
                    binary=binary,
                    backend="postgres",
                    data_dir=base_dir / f"instance-{name}" / "data",
                    database_url=url,
                    bootstrap_key=key,
                    extra_args=list(extra_args or []),
                    name=name,
                    port=lk.free_port(),
                )
                if started:
                    inst.public_url = started[0].base_url
                    inst.data_dir.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(started[0].data_dir / "master.key", inst.data_dir / "master.key")
                started.append(inst)
                inst.start()
                if i == 0:
                    assert (inst.data_dir / "master.key").is_file(), "instance A wrote no master.key"
            c = Cluster(started, url)
            try:
                yield c
            finally:
                c.close_clients()
        finally:
            for inst in started:
                inst.stop(timeout=10)


# --------------------------------------------------------------------------------------------
# Polling
# --------------------------------------------------------------------------------------------


@dataclass
class Sample:
    sent: float  # time.monotonic() when the request left
    done: float  # ... when its answer (or error) came back
    response: Optional[httpx.Response]
    error: Optional[str] = None

    def describe(self) -> str:
        if self.response is None:
            return f"error {self.error}"
        return f"{self.response.status_code} {self.response.text[:160]}"


class Poller:
    """Calls `request(client)` every 1/rate seconds on a background thread (one keep-alive client,
    one request at a time; a slow answer delays the next request, never overlaps it)."""

    def __init__(self, instance: str, client: httpx.Client, request: Callable[[httpx.Client], httpx.Response], rate: float = 20.0) -> None:
        self.instance = instance
        self.client = client
        self.request = request
        self.interval = 1.0 / rate
        self.samples: list[Sample] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "Poller":
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        next_at = time.monotonic()
        while not self._stop.is_set():
            sent = time.monotonic()
            try:
                r = self.request(self.client)
                s = Sample(sent, time.monotonic(), r)
            except httpx.HTTPError as e:
                s = Sample(sent, time.monotonic(), None, repr(e))
            with self._lock:
                self.samples.append(s)
            next_at += self.interval
            pause = next_at - time.monotonic()
            if pause > 0:
                self._stop.wait(pause)
            else:
                next_at = time.monotonic()

    def snapshot(self) -> list[Sample]:
        with self._lock:
            return list(self.samples)

    def warm(self, seconds: float, ok: Callable[[Sample], bool], what: str) -> None:
        """Polls for `seconds`; every answer in that time must satisfy `ok` (the cache is hot)."""
        start = time.monotonic()
        time.sleep(seconds)
        warm = [s for s in self.snapshot() if s.sent >= start]
        assert len(warm) >= seconds * 0.5 / self.interval, (
            f"instance {self.instance}: only {len(warm)} polls in {seconds:.1f} s of warm-up"
        )
        bad = [s for s in warm if not ok(s)]
        assert not bad, f"instance {self.instance} before the change ({what}): {bad[0].describe()}"

    def delay_after(
        self,
        changed_at: float,
        changed: Callable[[Sample], bool],
        old: Callable[[Sample], bool],
        *,
        observe: float = 10.0,
        settle: float = 0.5,
    ) -> "Verdict":
        """Waits (up to `observe` s after `changed_at`) for the first answer that shows the change,
        then `settle` s more. The delay runs from `changed_at` (when the change's own response came
        back) to the arrival of that first answer. Problems: an answer after `changed_at` that is
        neither `old` nor `changed`, or an `old` answer to a request sent after the first changed
        answer had arrived (the instance went back)."""
        deadline = changed_at + observe
        first: Optional[Sample] = None
        while time.monotonic() < deadline:
            after = [s for s in self.snapshot() if s.done >= changed_at]
            first = next((s for s in after if changed(s)), None)
            if first is not None and time.monotonic() >= first.done + settle:
                break
            time.sleep(self.interval)
        after = [s for s in self.snapshot() if s.done >= changed_at]
        problems = [f"unexpected answer {s.describe()}" for s in after if not (changed(s) or old(s))][:3]
        if first is None:
            last = after[-1].describe() if after else "no answer at all"
            return Verdict(self.instance, None, len(after), observe, problems + [f"last answer: {last}"])
        back = [s for s in after if s.sent > first.done and not changed(s)]
        if back:
            problems.append(f"{len(back)} later answers showed the old state again, e.g. {back[0].describe()}")
        return Verdict(self.instance, max(0.0, first.done - changed_at), len(after), observe, problems)


@dataclass
class Verdict:
    """How long after a change one instance showed it; `problems` make it fail whatever the delay."""

    instance: str
    delay: Optional[float]  # seconds; None: not within the observation window
    polls: int
    observed: float
    problems: list[str] = field(default_factory=list)

    def ok(self, bound: float) -> bool:
        return self.delay is not None and self.delay <= bound and not self.problems

    def message(self, what: str, bound: float) -> str:
        if self.delay is None:
            head = f"instance {self.instance}: {what}: not seen within {self.observed:.1f} s"
        else:
            head = f"instance {self.instance}: {what}: seen after {self.delay:.3f} s"
        head += f" (bound {bound:.1f} s; {self.polls} answers polled since the change)"
        return "; ".join([head, *self.problems])
