"""Run the algorithm over centre folders in one process through vantage6's MockAlgorithmClient,
as vantage6 algorithms are developed and tested, and write the central result as JSON.

    python -m v6_msc_sle.mock --out result.json CENTRE=FOLDER ... [--overrides JSON]

Each FOLDER is one centre's extract (read by the workbook's loader). The consortium secret and
each node's threshold come from the environment, as on a real node. Exit status 2 and one line
on stderr when the task ends with a message (a refusal, another dictionary, a malformed extract).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import pandas as pd


def run(centres: dict[str, str], overrides: dict | None = None, *, threshold: int = 0,
        centre_term: bool = False, dictionaries: dict[str, str] | None = None) -> dict:
    """The central function's result for ``centres`` ({name: extract folder})."""
    from vantage6.algorithm.tools.mock_client import MockAlgorithmClient

    from . import node

    names = list(centres)
    org_ids = list(range(1, len(names) + 1))
    datasets = [[{"database": pd.DataFrame({"extract": [str(Path(centres[n]).resolve())]})}] for n in names]
    client = MockAlgorithmClient(datasets=datasets, module="v6_msc_sle", organization_ids=org_ids)
    if dictionaries:   # one process holds every node, so a node's own setting is keyed by organisation
        os.environ[node.DICTIONARY_ENV] = json.dumps({str(org_ids[names.index(n)]): str(p)
                                                     for n, p in dictionaries.items()})
    task = client.task.create(
        input_={"method": "central", "kwargs": {"overrides": overrides or {}, "threshold": threshold,
                                                "centre_term": centre_term,
                                                "names": {str(o): n for o, n in zip(org_ids, names)}}},
        organizations=[org_ids[0]])
    return client.wait_for_results(task_id=task["id"])[0]


def _write(path: Path, result: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(result, f, indent=1, sort_keys=True)
    os.replace(tmp, path)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m v6_msc_sle.mock")
    parser.add_argument("centres", nargs="+", help="NAME=FOLDER, one per centre")
    parser.add_argument("--out", required=True)
    parser.add_argument("--overrides", default="{}")
    parser.add_argument("--threshold", type=int, default=0)
    parser.add_argument("--centre-term", action="store_true")
    parser.add_argument("--dictionary", action="append", default=[], help="NAME=PATH (tests)")
    args = parser.parse_args(argv)
    centres = dict(c.split("=", 1) for c in args.centres)
    from .central import FederatedError
    try:
        result = run(centres, json.loads(args.overrides), threshold=args.threshold, centre_term=args.centre_term,
                     dictionaries=dict(d.split("=", 1) for d in args.dictionary))
    except FederatedError as err:
        print(f"the multi-centre task ended: {err}", file=sys.stderr)
        return 2
    _write(Path(args.out), result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
