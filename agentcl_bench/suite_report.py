"""The benchmark report: summary tables (markdown) and PNG plots from benchmark results.

Every benchmark result carries a `summary` list of rows {metric, value, target, ok}; this module only
formats what the runs measured (pure functions), plus the matplotlib plots written beside report.md."""
from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any


def summary_rows(result: Mapping) -> list[dict]:
    rows = result.get("summary")
    if isinstance(rows, list):
        return [r for r in rows if isinstance(r, Mapping) and "metric" in r]
    if isinstance(rows, Mapping):  # older shape: {metric: value}
        return [{"metric": str(k), "value": v, "target": None, "ok": None} for k, v in rows.items()]
    return []


def format_value(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if value != value:  # NaN
            return "n/a"
        return f"{value:.3f}" if abs(value) < 100 else f"{value:,.1f}"
    return str(value)


def verdict(ok: Any) -> str:
    return {True: "met", False: "MISSED"}.get(ok, "")


def table_rows(result: Mapping) -> list[tuple[str, str, str, str]]:
    return [(str(r["metric"]), format_value(r.get("value")), r.get("target") or "", verdict(r.get("ok")))
            for r in summary_rows(result)]


def markdown_table(result: Mapping) -> str:
    lines = ["| metric | value | target | |", "|---|---:|---|---|"]
    for metric, value, target, ok in table_rows(result):
        cell = lambda s: s.replace("|", "\\|")  # noqa: E731 - a metric name may contain a pipe
        lines.append(f"| {cell(metric)} | {cell(value)} | {cell(target)} | {ok} |")
    return "\n".join(lines)


def machine_line(result: Mapping) -> str:
    m = result.get("machine") or {}
    versions = m.get("versions") or {}
    parts = [m.get("date"), f"{m.get('cpu_cores')} cores" if m.get("cpu_cores") else None,
             f"device {m.get('device')}" if m.get("device") else None, m.get("cuda"),
             f"torch {versions['torch']}" if "torch" in versions else None]
    return ", ".join(str(p) for p in parts if p)


def markdown_report(results: Mapping[str, Mapping], *, titles: Mapping[str, str], plots: Iterable[str] = (),
                    command: str = "agentcl bench all") -> str:
    out = ["# agentcl benchmark report", "", f"Regenerate with `{command}`.", ""]
    for name, result in results.items():
        out += [f"## {titles.get(name, name)} (`agentcl bench {name}`)", ""]
        if result.get("error"):
            out += [f"Not run: {result['error']}", ""]
            continue
        line = machine_line(result)
        if line:
            out += [f"Measured {line}.", ""]
        out += [markdown_table(result), ""]
    for plot in plots:
        out += [f"![{Path(plot).stem}]({Path(plot).name})", ""]
    return "\n".join(out)


def write_json(result: Mapping, path: Path) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(result, indent=2, default=str, ensure_ascii=False))
    tmp.replace(path)


# -- plots ------------------------------------------------------------------------------------------
def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only; no display on servers
    import matplotlib.pyplot as plt

    return plt


def plot_drift(result: Mapping, path: Path) -> Path | None:
    """Rolling success over steps per ablation, with the world's change points marked."""
    curves = result.get("curves") or {}
    if not curves:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(9, 4.5))
    for variant, series in curves.items():
        ax.plot(range(len(series)), series, label=variant, linewidth=1.4)
    for i, point in enumerate(result.get("change_points") or []):
        ax.axvline(point["step"], color="grey", linestyle=":", linewidth=0.8)
        ax.annotate(str(point.get("label", ""))[:28], (point["step"], 0.02 + 0.06 * (i % 4)), fontsize=6,
                    rotation=90, color="dimgray")
    ax.set_xlabel("step")
    ax.set_ylabel("success (rolling)")
    ax.set_ylim(0, 1.05)
    ax.set_title("Drift world: success over steps (change points dotted)")
    ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def accuracy_matrices(result: Mapping) -> dict[str, list[list[float]]]:
    """Strategy -> accuracy matrix (rounds x tasks) from a `cl` result."""
    out = {}
    for name, r in (result.get("results") or {}).items():
        matrix = r.get("matrix") if isinstance(r, Mapping) else None
        if matrix:
            out[name] = matrix
    return out


def plot_cl(result: Mapping, path: Path) -> Path | None:
    """Accuracy matrix heat map per strategy (row: after training task i; column: task j)."""
    matrices = accuracy_matrices(result)
    if not matrices:
        return None
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(matrices), figsize=(2.6 * len(matrices), 2.9), squeeze=False)
    import numpy as np

    for ax, (name, matrix) in zip(axes[0], matrices.items()):
        width = max(len(row) for row in matrix)
        grid = np.full((len(matrix), width), np.nan)  # None (not yet measured) shows as blank
        for i, row in enumerate(matrix):
            grid[i, : len(row)] = [np.nan if v is None else v for v in row]
        ax.imshow(grid, vmin=0, vmax=1, cmap="viridis")
        for i, row in enumerate(matrix):
            for j, v in enumerate(row):
                if v is not None:
                    ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=6,
                            color="white" if v < 0.6 else "black")
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("task", fontsize=7)
        ax.set_ylabel("after round", fontsize=7)
        ax.tick_params(labelsize=6)
    fig.suptitle("Class-incremental digits: accuracy matrices", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def locomo_recall(result: Mapping) -> dict[str, dict[str, float]]:
    """System -> {"R@k": overall recall} from a `locomo` result (agentcl and the same-run baselines)."""
    out = {}
    for name, block in (result.get("systems") or {}).items():
        overall = block.get("overall") if isinstance(block, Mapping) else None
        if overall:
            ks = sorted(int(key.split("@")[1]) for key in overall if key.startswith("recall@"))
            out[name] = {f"R@{k}": overall[f"recall@{k}"] for k in ks}
    return out


def plot_locomo(result: Mapping, path: Path) -> Path | None:
    """Recall@k of agentcl and the same-run baselines."""
    systems = locomo_recall(result)
    if not systems:
        return None
    plt = _pyplot()
    ks = list(next(iter(systems.values())))
    fig, ax = plt.subplots(figsize=(6, 3.5))
    width = 0.8 / len(systems)
    for i, (name, scores) in enumerate(systems.items()):
        ax.bar([x + i * width for x in range(len(ks))], [scores.get(k, 0) for k in ks], width, label=name)
    ax.set_xticks([x + width * (len(systems) - 1) / 2 for x in range(len(ks))], ks)
    ax.set_ylim(0, 1)
    ax.set_ylabel("evidence recall")
    ax.set_title("LoCoMo evidence recall (categories 1-4)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


PLOTTERS = {"drift": ("drift_success.png", plot_drift), "cl": ("cl_accuracy_matrices.png", plot_cl),
            "locomo": ("locomo_recall.png", plot_locomo)}


def write_plots(results: Mapping[str, Mapping], out_dir: Path) -> list[Path]:
    written = []
    for name, (filename, plotter) in PLOTTERS.items():
        if name in results and not results[name].get("error"):
            path = plotter(results[name], out_dir / filename)
            if path is not None:
                written.append(path)
    return written
