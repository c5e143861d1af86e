"""The regression gate behind ``gradscale check``: measure a small grid, compare it with a
committed baseline, and name every cell that moved.

Four layers, from exact to noisy, each immune to what makes the next one flaky:

1. Work: counted multiplications and loss evaluations of every cell equal the baseline's.
2. Shape: growth with depth fitted on counts and on times stays within stated bounds; a
   uniformly slower machine shifts every time by one factor, which leaves these unchanged.
3. Time: each cell's gradient time over the time of its forward pass, timed in interleaved
   rounds, against the baseline's ratio under a tolerant factor; a flagged cell is measured
   again before it fails.
4. Instructions: executed instructions per gradient under valgrind's callgrind, where valgrind
   is installed, against a tight tolerance.

The cells, and the depths each grid holds, are described in ``bench.check.grid``.

For: the gate's public names, each defined in the module of its idea: ``grid`` (the cells),
``measure`` (timing them), ``instructions`` (layer 4 under callgrind), ``baseline`` (the
committed record), ``options``, ``shape`` (layer 2's bounds), ``compare`` (the four layers),
``verdicts`` (the table's rows) and ``run`` (one check from start to end).
Not for: the depth sweep (``bench.sweep``), parsing thresholds (``bench.thresholds``), or the
command line's options and printing (``bench.commands.check``).
"""

from __future__ import annotations

from bench.check.baseline import (
    BASELINE_FORMAT,
    CREATE_HINT,
    DEFAULT_BASELINE,
    Baseline,
    baseline_record,
    cells_by_key,
    instruction_count_from_dict,
    load_baseline,
    mapping,
    measurement_from_dict,
    required_number,
)
from bench.check.compare import (
    compare_instructions,
    compare_machines,
    compare_shape,
    compare_time,
    compare_work,
    providers_not_measured,
)
from bench.check.grid import (
    ACTIVATION,
    BATCH_SIZE,
    FULL_DEPTHS,
    LOSS_NAME,
    N_CLASSES,
    N_INPUTS,
    OTHER_FULL_DEPTHS,
    OTHER_QUICK_DEPTHS,
    QUICK_DEPTHS,
    SEED,
    WIDTH,
    cell_name,
    digits_shaped_problem,
    grid_depths,
)
from bench.check.instructions import (
    COLLECTED,
    INSTRUCTION_CELLS,
    INSTRUCTION_REPEATS,
    INSTRUCTION_SCRIPT,
    VALGRIND_TIMEOUT_S,
    InstructionCount,
    collected_instructions,
    count_instructions,
    instruction_cells,
    measure_instructions,
)
from bench.check.measure import (
    BASELINE_ROUNDS,
    MIN_MEASURE_S,
    REMEASURE_ATTEMPTS,
    REMEASURE_ROUNDS,
    ROUNDS,
    Measurement,
    grid_config,
    measure_cell,
    measure_grid,
)
from bench.check.options import (
    DEFAULT_INSTRUCTION_TOLERANCE,
    DEFAULT_PROVIDERS,
    DEFAULT_TOLERANCE,
    CheckOptions,
    shown_path,
)
from bench.check.run import (
    REPORT_FORMAT,
    REPORT_NAME,
    RUNS_FOLDER,
    CheckOutcome,
    default_output,
    main,
    run_check,
)
from bench.check.shape import (
    BACKPROP_COUNT_EXPONENT_MAX,
    BACKPROP_TIME_EXPONENT_MAX,
    FINITE_DIFFERENCES_EXPONENT_MAX,
    NAIVE_PATH_GROWTH_BOUNDS,
    NAIVE_TIME_GROWTH_TOLERANCE,
    SHAPE_RULES,
    ShapeRule,
    count_exponent,
    exponent_rules,
    path_growth,
    shape_row,
    time_exponent,
    time_growth,
)
from bench.check.verdicts import (
    FAIL,
    FASTER,
    NEW,
    NOT_MEASURED,
    OK,
    RECORDED,
    REMEASURED,
    WARNING,
    Row,
)

# The names this package had as one module, for its callers.
__all__ = [
    "BASELINE_FORMAT",
    "REPORT_FORMAT",
    "DEFAULT_BASELINE",
    "RUNS_FOLDER",
    "REPORT_NAME",
    "CREATE_HINT",
    "DEFAULT_PROVIDERS",
    "N_INPUTS",
    "N_CLASSES",
    "WIDTH",
    "ACTIVATION",
    "LOSS_NAME",
    "SEED",
    "BATCH_SIZE",
    "QUICK_DEPTHS",
    "FULL_DEPTHS",
    "OTHER_QUICK_DEPTHS",
    "OTHER_FULL_DEPTHS",
    "ROUNDS",
    "BASELINE_ROUNDS",
    "REMEASURE_ROUNDS",
    "REMEASURE_ATTEMPTS",
    "MIN_MEASURE_S",
    "DEFAULT_TOLERANCE",
    "DEFAULT_INSTRUCTION_TOLERANCE",
    "INSTRUCTION_CELLS",
    "INSTRUCTION_REPEATS",
    "VALGRIND_TIMEOUT_S",
    "COLLECTED",
    "INSTRUCTION_SCRIPT",
    "NAIVE_PATH_GROWTH_BOUNDS",
    "NAIVE_TIME_GROWTH_TOLERANCE",
    "BACKPROP_COUNT_EXPONENT_MAX",
    "BACKPROP_TIME_EXPONENT_MAX",
    "FINITE_DIFFERENCES_EXPONENT_MAX",
    "OK",
    "FAIL",
    "NEW",
    "FASTER",
    "WARNING",
    "NOT_MEASURED",
    "RECORDED",
    "REMEASURED",
    "Measurement",
    "InstructionCount",
    "Row",
    "Baseline",
    "CheckOptions",
    "CheckOutcome",
    "cell_name",
    "shown_path",
    "grid_depths",
    "digits_shaped_problem",
    "measure_cell",
    "measure_grid",
    "collected_instructions",
    "count_instructions",
    "instruction_cells",
    "measure_instructions",
    "baseline_record",
    "grid_config",
    "load_baseline",
    "mapping",
    "cells_by_key",
    "required_number",
    "measurement_from_dict",
    "instruction_count_from_dict",
    "compare_work",
    "path_growth",
    "time_growth",
    "count_exponent",
    "time_exponent",
    "ShapeRule",
    "exponent_rules",
    "SHAPE_RULES",
    "compare_shape",
    "shape_row",
    "compare_time",
    "compare_instructions",
    "compare_machines",
    "providers_not_measured",
    "default_output",
    "run_check",
    "main",
]
