"""A server process for the bench: the product's app or the bare baseline, under uvicorn.

    python -m bench.serve app|bare --dsn URL --schema S --data-dir D --port P --stats FILE

Both are served the same way (one uvicorn worker, uvloop and httptools, no access log) on
127.0.0.1 only. At a clean exit (SIGTERM or SIGINT) the process writes its peak resident memory
to ``--stats``.
"""

from __future__ import annotations

import argparse
import json
import resource
from pathlib import Path

import uvicorn

from bench.bare import create_bare_app
from registry.keys import FileKeyStore
from service.app import create_app
from service.settings import Settings

POOL_SIZE = 10  # the product's default (Settings.database_pool_size)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("kind", choices=["app", "bare"])
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--schema", required=True)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--stats", type=Path, required=True)
    args = parser.parse_args()
    if args.kind == "app":
        settings = Settings(
            database_url=args.dsn,
            database_schema=args.schema,
            database_pool_size=POOL_SIZE,
            data_dir=args.data_dir,
            port=args.port,
            public_base_url=f"http://127.0.0.1:{args.port}",
            key_store="file",
        )
        app = create_app(settings, keys=FileKeyStore(args.data_dir / "keys"))
    else:
        app = create_bare_app(args.dsn, args.schema, POOL_SIZE)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    args.stats.write_text(json.dumps({"peak_rss_mib": peak}))


if __name__ == "__main__":
    main()
