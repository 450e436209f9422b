"""A server process for the bench: the product's app or the bare baseline, under uvicorn.

    python -m bench.serve app|bare --dsn URL --schema S --data-dir D --port P --stats FILE
                              [--workers N]

Both are served the same way (uvloop and httptools, no access log) on 127.0.0.1 only: one
uvicorn process, or with ``--workers N`` N processes sharing the socket under uvicorn's
supervisor (the topology scenario). At a clean exit (SIGTERM or SIGINT) a single process writes
its peak resident memory to ``--stats``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
from pathlib import Path

import uvicorn
from litestar import Litestar

from bench.bare import create_bare_app
from registry.keys import FileKeyStore
from service.app import create_app
from service.settings import Settings

POOL_SIZE = 10  # the product's default (Settings.database_pool_size)
_ARGS = "BENCH_SERVE_ARGS"  # how the supervisor hands the arguments to its worker processes


def _app(args: argparse.Namespace) -> Litestar:
    if args.kind == "bare":
        return create_bare_app(args.dsn, args.schema, POOL_SIZE)
    settings = Settings(
        database_url=args.dsn,
        database_schema=args.schema,
        database_pool_size=POOL_SIZE,
        data_dir=args.data_dir,
        port=args.port,
        public_base_url=f"http://127.0.0.1:{args.port}",
        key_store="file",
    )
    return create_app(settings, keys=FileKeyStore(args.data_dir / "keys"))


def worker_app() -> Litestar:
    """The app of one of ``--workers N``'s processes (uvicorn imports it by name)."""
    return _app(_parser().parse_args(json.loads(os.environ[_ARGS])))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    parser.add_argument("kind", choices=["app", "bare"])
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--schema", required=True)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--stats", type=Path, required=True)
    parser.add_argument("--workers", type=int, default=1)
    return parser


def main() -> None:
    args = _parser().parse_args()
    if args.workers > 1:
        os.environ[_ARGS] = json.dumps(sys.argv[1:])
        uvicorn.run(
            "bench.serve:worker_app",
            factory=True,
            workers=args.workers,
            host="127.0.0.1",
            port=args.port,
            log_level="warning",
            access_log=False,
        )
        return
    app = _app(args)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    args.stats.write_text(json.dumps({"peak_rss_mib": peak}))


if __name__ == "__main__":
    main()
