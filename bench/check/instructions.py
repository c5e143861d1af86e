"""Layer 4's measurement: instructions per gradient of a few small cells under callgrind.

For: ``InstructionCount``, counting one cell under valgrind, and the counts of a whole run
with a notice where valgrind is missing.
Not for: comparing counts with the baseline (``bench.check.compare``).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from bench.check.grid import ACTIVATION, LOSS_NAME, SEED, WIDTH, cell_name, digits_shaped_problem
from bench.check.verdicts import FAIL, INSTRUCTIONS_METRIC, Row

# Layer 4: small cells, since Python under callgrind runs about 40 times slower (one run of
# start-up and 120 backprop gradients: 0.26 s natively, 11 s under callgrind). Each cell is run
# twice, with two repeat counts; the difference cancels the start-up of Python and numpy.
INSTRUCTION_CELLS = (("backprop", WIDTH, 2), ("naive", WIDTH, 2))
INSTRUCTION_REPEATS = (20, 120)
VALGRIND_TIMEOUT_S = 600
COLLECTED = re.compile(r"Collected\s*:\s*(\d+)")

# What the subprocess under valgrind runs: only numpy and the library are imported, so its
# start-up stays short. Arguments: the .npz file of the cell and the number of gradients.
INSTRUCTION_SCRIPT = """
import sys
import numpy as np
from gradients import MLP, get_loss, get_provider
cell = np.load(sys.argv[1])
network = MLP(tuple(cell["layer_sizes"]), str(cell["activation"]), seed=int(cell["seed"]))
provider, loss = get_provider(str(cell["provider"])), get_loss(str(cell["loss"]))
inputs, targets = cell["inputs"], cell["targets"]
for _ in range(int(sys.argv[2])):
    provider.compute(network, loss, inputs, targets)
"""


@dataclass(frozen=True)
class InstructionCount:
    """Instructions per gradient: the difference of two runs of different lengths."""

    provider: str
    width: int
    depth: int
    per_gradient: float
    repeat_counts: tuple[int, int]
    totals: tuple[int, int]

    @property
    def cell(self) -> str:
        return cell_name(self.provider, self.width, self.depth)

    def to_dict(self) -> dict:
        record = asdict(self)
        record["repeat_counts"], record["totals"] = list(self.repeat_counts), list(self.totals)
        return record


def collected_instructions(valgrind_output: str) -> int:
    """The total instruction count callgrind reports ("Collected : N") in its output."""
    match = COLLECTED.search(valgrind_output)
    if match is None:
        raise ValueError("valgrind output holds no 'Collected : N' line of callgrind")
    return int(match.group(1))


def count_instructions(
    provider: str,
    width: int,
    depth: int,
    *,
    repeat_counts: tuple[int, int] = INSTRUCTION_REPEATS,
    valgrind: str = "valgrind",
) -> InstructionCount:
    """Instructions per gradient of one cell under callgrind, start-up cancelled out."""
    few, many = repeat_counts
    if not 0 < few < many:
        raise ValueError(
            f"`repeat_counts` must be two increasing counts >= 1, got {repeat_counts}"
        )
    network, loss, inputs, targets = digits_shaped_problem(width, depth)
    environment = {
        **os.environ,
        # The same hash seed in both runs, so that dictionaries do the same work in each.
        "PYTHONHASHSEED": "0",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        # The project's own library, also where it is not installed.
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(Path(__file__).resolve().parents[2]), os.environ.get("PYTHONPATH")])
        ),
    }

    with tempfile.TemporaryDirectory() as folder:
        cell_file = Path(folder) / "cell.npz"
        np.savez(
            cell_file,
            layer_sizes=np.array(network.layer_sizes),
            activation=ACTIVATION,
            seed=SEED,
            provider=provider,
            loss=LOSS_NAME,
            inputs=inputs,
            targets=targets,
        )
        # The two runs are independent and each single-threaded: run them side by side.
        runs = [
            subprocess.Popen(
                [
                    valgrind,
                    "--tool=callgrind",
                    f"--callgrind-out-file={os.devnull}",
                    sys.executable,
                    "-c",
                    INSTRUCTION_SCRIPT,
                    str(cell_file),
                    str(repeats),
                ],
                env=environment,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            for repeats in repeat_counts
        ]
        try:
            outputs = [run.communicate(timeout=VALGRIND_TIMEOUT_S)[1] for run in runs]
        except BaseException:
            for run in runs:
                run.kill()
                run.wait()
            raise

    totals = []
    for run, output in zip(runs, outputs, strict=True):
        if run.returncode != 0:
            last_line = (output.strip().splitlines() or ["no output"])[-1]
            raise RuntimeError(
                f"valgrind failed on {cell_name(provider, width, depth)} with exit code "
                f"{run.returncode}: {last_line}"
            )
        totals.append(collected_instructions(output))

    return InstructionCount(
        provider=provider,
        width=width,
        depth=depth,
        per_gradient=(totals[1] - totals[0]) / (many - few),
        repeat_counts=(few, many),
        totals=(totals[0], totals[1]),
    )


def instruction_cells(providers: Sequence[str]) -> list[tuple[str, int, int]]:
    return [cell for cell in INSTRUCTION_CELLS if cell[0] in providers]


def measure_instructions(
    providers: Sequence[str], notices: list[str]
) -> tuple[list[InstructionCount], list[Row]]:
    """Layer 4's counts where valgrind is installed, a one-line notice where it is not, and
    a failing row for each cell that valgrind could not run."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        notices.append("instructions: skipped, valgrind is not installed")
        return [], []
    cells = instruction_cells(providers)
    if not cells:
        notices.append("instructions: none of the providers asked for has an instruction cell")

    counts, failures = [], []
    for provider, width, depth in cells:
        try:
            counts.append(count_instructions(provider, width, depth, valgrind=valgrind))
        except (RuntimeError, ValueError, subprocess.TimeoutExpired) as error:
            message = " ".join(str(error).split())
            failures.append(
                Row("instructions", cell_name(provider, width, depth),
                    INSTRUCTIONS_METRIC, None, None, None, f"{FAIL}: {message}")
            )  # fmt: skip
    return counts, failures
