"""How long ``import carbs`` takes beyond ``import torch, gpytorch``, in fresh processes.

Each repeat starts a new interpreter that imports torch and gpytorch, then
carbs, timing both with ``time.perf_counter``; the medians are printed side by
side with the target (carbs adds at most 0.3 s).

Usage::

    python benchmarks/import_time.py [--repeats 10]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

TARGET_SECONDS = 0.3
SCRIPT = """
import json, time
start = time.perf_counter()
import torch, gpytorch
middle = time.perf_counter()
import carbs
end = time.perf_counter()
print(json.dumps([middle - start, end - middle]))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    base, extra = [], []
    for _ in range(args.repeats):
        output = subprocess.run(
            [sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True
        ).stdout
        torch_seconds, carbs_seconds = json.loads(output.splitlines()[-1])
        base.append(torch_seconds)
        extra.append(carbs_seconds)
    median = statistics.median(extra)
    print("| import | median s | max s |")
    print("|---|---|---|")
    print(f"| torch, gpytorch | {statistics.median(base):.3f} | {max(base):.3f} |")
    print(f"| carbs, after them | {median:.3f} | {max(extra):.3f} |")
    verdict = "met" if median <= TARGET_SECONDS else "NOT met"
    print(f"\ntarget: carbs adds at most {TARGET_SECONDS} s ({verdict}, {args.repeats} repeats)")


if __name__ == "__main__":
    main()
