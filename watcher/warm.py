"""[extract] Imported once by the workers' forkserver, before it forks any worker.

A worker's first extraction loads what trafilatura and its helpers load lazily, above all
py3langid's model (a 39 MB transition table and a 28 MB numpy matrix) and htmldate. Done in
each worker, that was ~100 MB of private memory a worker (measured: 147 MB resident, 93 MB of
it private, with 2 workers the daemon held ~360 MB in all at 10,000 sources). Done here, in
the process every worker is forked from, the pages are shared copy-on-write: the tables are
flat buffers nobody writes to, so they stay shared for the worker's whole life.

``gc.freeze()`` last: the collector of a worker then never walks (and so never writes to the
headers of) the objects built here, which would copy their pages one by one.
"""

from __future__ import annotations

import gc

from watcher import tasks

tasks.load(tasks.WorkerSetup())  # the packaged rules, no topics: each worker loads its own
gc.freeze()
