"""Summarise py-spy raw profiles (`bench/api.py --profile DIR`): where the workers' time goes.

    uv run python bench/profile_summary.py DIR/check-eligibility-*.txt
    uv run python bench/profile_summary.py --self DIR/view-loan-*.txt

Prints each function's share of the samples, inclusive (the function and what it calls) by
default or self (`--self`). Samples of idle threads (the thread pool's workers waiting for
work) and of the event loop waiting for I/O are left out, so the shares are of busy time.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

FRAME = re.compile(r"(.*) \((.*?):\d+\)$")
IDLE_LEAVES = ("_worker (concurrent/futures/thread.py:81)",)


def frame_name(frame: str) -> str:
    match = FRAME.match(frame)
    if not match:
        return frame
    function, path = match.groups()
    return f"{function} ({path.split('site-packages/')[-1].split('/src/')[-1]})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--self", dest="self_time", action="store_true")
    parser.add_argument("--top", type=int, default=50)
    args = parser.parse_args()
    shares: Counter[str] = Counter()
    total = 0
    for path in args.files:
        for line in path.read_text().splitlines():
            if not line.strip():
                continue
            stack, count = line.rsplit(" ", 1)
            frames = stack.split(";")
            leaf = frames[-1]
            if leaf.endswith(IDLE_LEAVES) or (len(frames) == 1 and "Runner.run" in leaf):
                continue
            samples = int(count)
            total += samples
            names = [frame_name(f) for f in frames]
            for name in [names[-1]] if args.self_time else set(names):
                shares[name] += samples
    print(f"{total} busy samples")
    for name, samples in shares.most_common(args.top):
        print(f"{100 * samples / total:5.1f}% {name}")


if __name__ == "__main__":
    main()
