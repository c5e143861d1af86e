"""REPORT.md of a run folder: machine, configuration, claims table, figures, results, verdicts.

For: gathering a run's evidence -- its sweep, and the extra measurements the claims need (the
naive and backprop providers at the widths the sweep lacks, and the experiments of
``bench.experiments``), which are run when missing and reused when the folder holds them --
judging the claims (``bench.claims``), drawing the figures and writing REPORT.md atomically.
Not for: the main sweep (``bench.sweep``), the verdict rules (``bench.claims``) or printing.

Inside a run folder the report adds ``extra-widths/`` (a sweep folder of its own),
``experiments/<name>.csv`` (one table per experiment), ``figures/`` and ``REPORT.md``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from bench.claims import (
    CLAIM_WIDTHS,
    DOES_NOT_HOLD,
    HOLDS,
    RULES,
    UNDECIDED,
    Claim,
    Evidence,
    judge_claims,
)
from bench.experiments import dataset_size, fd_step, quadratic, training_curves
from bench.figures import AGREEMENT_FIGURE, DEPTH_FIGURE, SPEEDUP_FIGURE, write_claim_figures
from bench.files import read_csv, read_json, write_csv_atomic, write_text_atomic
from bench.sweep import CONFIG_FILE, SweepConfig, load_results, run_sweep
from gradients.validation import check_choice

REPORT_NAME = "REPORT.md"
FIGURES_FOLDER = "figures"
EXPERIMENTS_FOLDER = "experiments"
EXTRA_SWEEP_FOLDER = "extra-widths"

# What to do about extra measurements: run those missing, only use those present, or neither.
RUN, REUSE, SKIP, RERUN = "run", "reuse", "skip", "rerun"
EXTRA_MODES = (RUN, REUSE, SKIP, RERUN)

# The extra sweep gives claims 1 and 2 their other widths, over the main sweep's depths so
# that backprop's growth is judged over the same range at every width. Its budget is the
# main sweep's, capped so that naive at width 4 (a factor 4 per layer) stops within seconds.
EXTRA_PROVIDERS = ("naive", "backprop")
EXTRA_MAX_BUDGET_S = 1.0
EXTRA_REPEATS = 5

VERDICT_MARKS = {HOLDS: "holds", DOES_NOT_HOLD: "**does not hold**", UNDECIDED: "*undecided*"}


@dataclass(frozen=True)
class Experiment:
    """One extra experiment: its table's file name, how to run it and how to draw it."""

    name: str
    run: Callable[[], pd.DataFrame]
    plot: Callable[[pd.DataFrame, Path], list[Path]]
    caption: str


EXPERIMENTS = (
    Experiment("fd-steps", fd_step.run, fd_step.plot,
               "Finite-difference error against the step, float64 and float32"),
    Experiment("accuracy-cost", fd_step.run_accuracy_cost, fd_step.plot_accuracy_cost,
               "Accuracy against counted cost for every provider at a few depths"),
    Experiment("quadratic", quadratic.run, quadratic.plot,
               "Gradient descent on x² for several learning rates"),
    Experiment("dataset-size", dataset_size.run, dataset_size.plot,
               "Cost of one update against the data-set size"),
    Experiment("training-curves", training_curves.run, training_curves.plot,
               "Training loss against updates and against time: per-sample SGD, minibatch, "
               "full-batch GD on the digits"),
    Experiment("exact-providers", training_curves.run_exact_providers,
               training_curves.plot_exact_providers,
               "Training curves of every exact provider from one seed, overlaid"),
)  # fmt: skip

SWEEP_CAPTIONS = {
    DEPTH_FIGURE: "Time and counted multiplications against depth per provider, with the "
    "fitted curves and their 95% bands",
    SPEEDUP_FIGURE: "Speed-up naive / backprop against depth, the 10^6 level marked",
    AGREEMENT_FIGURE: "Each provider's gradient against backprop's, by depth",
}
CLAIM_FIGURES = {
    1: (DEPTH_FIGURE,),
    2: (DEPTH_FIGURE,),
    3: (SPEEDUP_FIGURE, DEPTH_FIGURE),
    4: (AGREEMENT_FIGURE, "exact-providers", "accuracy-cost"),
    5: ("fd-steps", "accuracy-cost", AGREEMENT_FIGURE),
    6: ("quadratic",),
    7: ("dataset-size", "training-curves"),
}


@dataclass(frozen=True)
class WrittenReport:
    path: Path
    claims: list[Claim]


def write_report(
    folder: Path, *, extras: str = RUN, on_step: Callable[[str], None] | None = None
) -> Path:
    """Write ``folder``/REPORT.md for the run in ``folder`` and return its path.

    ``extras`` decides the extra measurements: "run" those missing and reuse the rest,
    "rerun" them all, "reuse" only those present, or "skip" them all (the claims that need
    them are then undecided, not measured). ``on_step`` hears one line per step.
    """
    return produce_report(folder, extras=extras, on_step=on_step).path


def produce_report(
    folder: Path, *, extras: str = RUN, on_step: Callable[[str], None] | None = None
) -> WrittenReport:
    """``write_report``, returning the claims it judged along with the report's path."""
    folder = Path(folder)
    check_choice("extras", extras, EXTRA_MODES)
    say = on_step or (lambda message: None)
    results, timings, metadata = load_results(folder)

    extra, extra_note = extra_sweep(folder, results, metadata, extras, say)
    if extra is not None:
        results = pd.concat([results, extra[0]], ignore_index=True)
        timings = pd.concat([timings, extra[1]], ignore_index=True)
    frames, provenance = experiment_frames(folder, extras, say)
    evidence = Evidence(
        results=results,
        timings=timings,
        fd_steps=frames.get("fd-steps"),
        accuracy_cost=frames.get("accuracy-cost"),
        quadratic=frames.get("quadratic"),
        dataset_size=frames.get("dataset-size"),
    )

    say("judging the claims")
    claims = judge_claims(evidence)

    say("drawing the figures")
    figures_folder = folder / FIGURES_FOLDER
    figures = write_claim_figures(evidence.sweep, figures_folder)
    captions = dict(SWEEP_CAPTIONS)
    for experiment in EXPERIMENTS:
        if experiment.name in frames:
            paths = experiment.plot(frames[experiment.name], figures_folder / experiment.name)
            figures[experiment.name] = paths
            captions[experiment.name] = experiment.caption

    text = report_text(
        folder, metadata, evidence, claims, figures, captions, extra_note, provenance
    )
    return WrittenReport(write_text_atomic(folder / REPORT_NAME, text), claims)


# Extra measurements


def extra_sweep(
    folder: Path, results: pd.DataFrame, metadata: dict, extras: str, say: Callable[[str], None]
) -> tuple[tuple[pd.DataFrame, pd.DataFrame] | None, str]:
    """Naive and backprop at the claim widths the main sweep lacks: ((results, timings), note).

    The tables are None when nothing was measured or reused.
    """
    # sweep.json, not the metadata, whose copy has its paths cut to their last name.
    config = SweepConfig.from_dict(read_json(folder / CONFIG_FILE, what="sweep configuration"))
    covered = set(results.loc[results["provider"] == "naive", "width"].astype(int))
    missing = tuple(width for width in CLAIM_WIDTHS if width not in covered)
    target = folder / EXTRA_SWEEP_FOLDER
    if not missing:
        return None, "none needed: the main sweep covers every claim width"

    present = (target / "metadata.json").exists()
    status = read_json(target / "metadata.json", what="run metadata") if present else {}
    if extras == SKIP or (extras == REUSE and not present):
        return None, f"not run: widths {', '.join(map(str, missing))} not measured"
    if extras in (RUN, REUSE) and status.get("status") == "complete":
        extra_results, extra_timings, _ = load_results(target)
        return (extra_results, extra_timings), f"reused from {EXTRA_SWEEP_FOLDER}/"

    extra = replace(
        config,
        providers=EXTRA_PROVIDERS,
        widths=missing,
        budget_s=min(config.budget_s, EXTRA_MAX_BUDGET_S),
        repeats=min(config.repeats, EXTRA_REPEATS),
    )
    say(f"measuring naive and backprop at widths {', '.join(map(str, missing))}")
    resume = extras == RUN and present
    if extras == RERUN and present:
        for name in ("results.csv", "timings.csv", "metadata.json"):
            (target / name).unlink(missing_ok=True)
    run_sweep(extra, target, resume=resume)
    extra_results, extra_timings, _ = load_results(target)
    budget = f"depths up to {max(extra.depths)}, budget {extra.budget_s:g} s per gradient"
    return (extra_results, extra_timings), f"run now into {EXTRA_SWEEP_FOLDER}/ ({budget})"


def experiment_frames(
    folder: Path, extras: str, say: Callable[[str], None]
) -> tuple[dict[str, pd.DataFrame], dict[str, str]]:
    """Each experiment's table, run or reused as ``extras`` says, and where it came from."""
    frames, provenance = {}, {}
    for experiment in EXPERIMENTS:
        path = folder / EXPERIMENTS_FOLDER / f"{experiment.name}.csv"
        if extras == SKIP or (extras == REUSE and not path.exists()):
            provenance[experiment.name] = "not run"
            continue
        if extras in (RUN, REUSE) and path.exists():
            frames[experiment.name] = read_csv(path, what=f"{experiment.name} table")
            provenance[experiment.name] = f"reused from {EXPERIMENTS_FOLDER}/{path.name}"
            continue
        say(f"running the {experiment.name} experiment")
        frame = experiment.run()
        write_csv_atomic(path, frame)
        # Read back, so a fresh table and a reused one go through the same parsing.
        frames[experiment.name] = read_csv(path, what=f"{experiment.name} table")
        provenance[experiment.name] = f"run now into {EXPERIMENTS_FOLDER}/{path.name}"
    return frames, provenance


# The Markdown


def report_text(
    folder: Path,
    metadata: dict,
    evidence: Evidence,
    claims: list[Claim],
    figures: dict[str, list[Path]],
    captions: dict[str, str],
    extra_note: str,
    provenance: dict[str, str],
) -> str:
    counts = {verdict: sum(c.verdict == verdict for c in claims) for verdict in VERDICT_MARKS}
    generated = datetime.now(UTC).isoformat(timespec="seconds")
    sections = [
        f"# gradscale report: {folder.name}",
        f"Written {generated} from the run in this folder (sweep status: "
        f"{metadata.get('status', 'unknown')}). Verdicts on the {len(claims)} claims: holds "
        f"{counts[HOLDS]}, does not hold {counts[DOES_NOT_HOLD]}, undecided "
        f"{counts[UNDECIDED]}. Every figure below has a PNG and an SVG in `figures/`.",
        "## Machine and versions\n\n" + machine_table(metadata),
        "## Configuration\n\n" + configuration_text(metadata, extra_note, provenance),
        "## Claims\n\n" + claims_table(claims),
        "### How each verdict is decided\n\n" + rules_text(),
        "## The claims one by one\n\n"
        + "\n\n".join(claim_section(claim, figures, captions) for claim in claims),
        "## Other figures\n\n" + other_figures(figures, captions),
        "## Results\n\n" + results_tables(evidence.results),
        "## Reading the numbers\n\n" + READING_NOTES,
    ]
    return "\n\n".join(sections) + "\n"


READING_NOTES = """\
- Times are wall-clock seconds per gradient with BLAS pinned to one thread: the median of the \
timed repeats of a cell, each repeat the mean over a calibrated loop. Other work running on \
the machine at the same time shows up as spread between repeats and widens the intervals; \
an interval is only as good as the quiet of the machine that produced it.
- Intervals are 95%: bootstrap percentiles over the timed repeats where a cell has at least \
three, regression standard errors otherwise. A ratio's interval combines the far ends of its \
two parts' intervals, which is conservative.
- Counted multiplications are exact, so they carry no interval. The cost models \
(`predict_counts` of each provider) are checked equal to the counters in every measured cell.
- "Extrapolated" marks any figure at a depth that was not measured."""


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return " ".join(str(text).split()).replace("|", "\\|")


def machine_table(metadata: dict) -> str:
    cpu = metadata.get("cpu", {})
    numpy_info = metadata.get("numpy", {})
    blas = [
        " ".join(str(lib.get(key, "?")) for key in ("internal_api", "version", "architecture"))
        for lib in (numpy_info.get("blas") or {}).values()
    ]
    packages = metadata.get("packages", {})
    git = metadata.get("git", {})
    memory = metadata.get("memory_total_bytes")
    dirty = {True: " (with uncommitted changes)", False: "", None: ""}[git.get("dirty")]
    rows = [
        ("CPU", f"{cpu.get('model', '?')}, {cpu.get('logical_count', '?')} logical cores"),
        ("memory", "?" if memory is None else f"{memory / 2**30:.1f} GiB"),
        ("platform", metadata.get("platform", {}).get("description", "?")),
        ("Python", metadata.get("python", {}).get("version", "?")),
        ("BLAS", ", ".join(blas) or "?"),
        ("packages", ", ".join(f"{name} {version}" for name, version in packages.items())),
        ("commit", f"{git.get('commit', '?')}{dirty}"),
        ("sweep started", metadata.get("started_utc", "?")),
    ]
    lines = ["| | |", "|---|---|"] + [f"| {name} | {_cell(value)} |" for name, value in rows]
    return "\n".join(lines)


def configuration_text(metadata: dict, extra_note: str, provenance: dict[str, str]) -> str:
    sweep = metadata["config"]["sweep"]
    depths = sweep["depths"]
    lines = [
        f"- Main sweep: providers {', '.join(sweep['providers'])}; widths "
        f"{', '.join(map(str, sweep['widths']))}; depths {_depth_list(depths)}; "
        f"{sweep['data']} data, {sweep['activation']}, batch {sweep['batch_size']}, seed "
        f"{sweep['seed']}; budget {sweep['budget_s']:g} s per gradient, {sweep['repeats']} "
        f"repeats of at least {sweep['min_measure_s']:g} s.",
        f"- Extra sweep for the other claim widths ({', '.join(EXTRA_PROVIDERS)}): {extra_note}.",
    ]
    for experiment in EXPERIMENTS:
        lines.append(f"- {experiment.caption}: {provenance[experiment.name]}.")
    return "\n".join(lines)


def _depth_list(depths: list[int]) -> str:
    """1-20, 24, 28 for consecutive runs and single values."""
    parts, start = [], 0
    for end in range(1, len(depths) + 1):
        if end == len(depths) or depths[end] != depths[end - 1] + 1:
            first, last = depths[start], depths[end - 1]
            parts.append(str(first) if first == last else f"{first}-{last}")
            start = end
    return ", ".join(parts)


def claims_table(claims: list[Claim]) -> str:
    lines = [
        "| # | claim tested | configuration | measured (95% interval) | verdict |",
        "|---|---|---|---|---|",
    ]
    for claim in claims:
        verdict = f"{VERDICT_MARKS[claim.verdict]}: {claim.conditions}"
        lines.append(
            f"| {claim.number} | {_cell(claim.title)} | {_cell(claim.configuration)} | "
            f"{_cell(claim.measured)} | {_cell(verdict)} |"
        )
    return "\n".join(lines)


def rules_text() -> str:
    return "\n".join(f"{number}. {rule}" for number, rule in RULES.items())


def _figure_markdown(name: str, figures: dict[str, list[Path]], captions: dict[str, str]) -> str:
    png, svg = (f"{FIGURES_FOLDER}/{path.name}" for path in figures[name])
    return f"![{captions[name]}]({png})\n\n*{captions[name]}* ([SVG]({svg}))"


def claim_section(claim: Claim, figures: dict[str, list[Path]], captions: dict[str, str]) -> str:
    shown = [name for name in CLAIM_FIGURES[claim.number] if name in figures]
    absent = [name for name in CLAIM_FIGURES[claim.number] if name not in figures]
    parts = [
        f"### {claim.number}. {claim.title} — {VERDICT_MARKS[claim.verdict]}",
        f"**Statement tested.** {claim.statement}",
        f"**Configuration.** {claim.configuration}",
        f"**Measured.** {claim.measured}",
        f"**Verdict.** {claim.verdict}: {claim.conditions}",
        f"**In plain words.** {claim.conclusion}",
    ]
    parts += [_figure_markdown(name, figures, captions) for name in shown]
    if absent:
        parts.append(f"(Not drawn, its experiment did not run: {', '.join(absent)}.)")
    return "\n\n".join(parts)


def other_figures(figures: dict[str, list[Path]], captions: dict[str, str]) -> str:
    used = {name for names in CLAIM_FIGURES.values() for name in names}
    rest = [name for name in figures if name not in used]
    if not rest:
        return "Every figure appears with its claim above."
    return "\n\n".join(_figure_markdown(name, figures, captions) for name in rest)


def results_tables(results: pd.DataFrame) -> str:
    """Time (ms, median and IQR) and counted multiplications per cell, one row per depth."""
    tables = []
    for width, rows in results.groupby("width", sort=True):
        providers = list(dict.fromkeys(rows["provider"]))
        header = "| depth | " + " | ".join(providers) + " |"
        rule = "|---:|" + "---:|" * len(providers)
        time_lines, count_lines = [header, rule], [header, rule]
        for depth, at_depth in rows.groupby("depth", sort=True):
            cells = {row.provider: row for row in at_depth.itertuples(index=False)}
            time_lines.append(
                f"| {depth} | " + " | ".join(_time_cell(cells.get(p)) for p in providers) + " |"
            )
            count_lines.append(
                f"| {depth} | " + " | ".join(_count_cell(cells.get(p)) for p in providers) + " |"
            )
        tables.append(
            f"Width {width}: time per gradient, ms (median ± half the interquartile range; "
            "'-' not run)\n\n" + "\n".join(time_lines)
        )
        tables.append(
            f"Width {width}: counted multiplications per gradient (predicted by the cost model "
            "where the cell was not run, in italics)\n\n" + "\n".join(count_lines)
        )
    return "\n\n".join(tables)


def _time_cell(row) -> str:
    if row is None:
        return ""
    if row.status != "ok":
        return f"- ({row.status})"
    return f"{row.median_s * 1e3:.4g} ± {row.iqr_s * 1e3 / 2:.2g}"


def _count_cell(row) -> str:
    if row is None:
        return ""
    if row.status != "ok":
        predicted = row.predicted_multiplications
        return "" if _missing(predicted) else f"*{int(predicted):,}*"
    return f"{int(row.multiplications):,}"


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))
