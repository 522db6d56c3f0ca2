"""The score report: one self-contained HTML page with its PNG plots embedded (and beside it).

Plots: GOSPA over time with its localisation, missed and false parts; confirmed tracks over
truth on a map (x/y km, truth grey, tracks coloured); position and velocity error
histograms; and the summary table.  Tracks drawn on the map pass the egress gate first.
"""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path

import matplotlib
import numpy as np
import pyarrow as pa
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

from airpicture.core.tracks import TrackStatus, TrackTable
from airpicture.metrics.align import ConfirmedRows, FloatArray, IntArray
from airpicture.metrics.score import ScoreDetails, ScoreSummary, _load_tracks, score_scenario
from airpicture.policy.egress import LOCAL, Egress

LABELS = {
    "gospa_m": "GOSPA (c 10 km, p 2, α 2), mean over times [m]",
    "gospa_localisation_m": "  localisation part [m]",
    "gospa_missed_m": "  missed-target part [m]",
    "gospa_false_m": "  false-track part [m]",
    "ospa_m": "OSPA (c 10 km, p 2) [m]",
    "rms_pos_m": "Position RMS error [m]",
    "rms_vel_mps": "Velocity RMS error [m/s]",
    "id_changes": "Track identity changes",
    "gospa_assignment_switches": "  changes of the GOSPA-assigned track",
    "mean_time_to_confirm_s": "Mean time first plot → confirmed track [s]",
    "max_time_to_confirm_s": "Longest time first plot → confirmed track [s]",
    "siap_completeness": "SIAP completeness",
    "siap_ambiguity": "SIAP ambiguity",
    "siap_spuriousness": "SIAP spuriousness",
    "siap_position_accuracy_m": "SIAP position accuracy [m]",
    "siap_velocity_accuracy_mps": "SIAP velocity accuracy [m/s]",
    "mean_missed_per_time": "Missed targets per time",
    "mean_false_per_time": "False tracks per time",
    "n_truth": "Targets scored",
    "n_tracks": "Confirmed tracks scored",
    "n_targets_never_tracked": "Targets with plots never tracked",
    "n_times": "Scoring times",
}


def format_value(value: object) -> str:
    """A summary value for people: floats with 3 significant decimals, None as '—'."""
    if value is None:
        return "—"
    if isinstance(value, float):
        if not np.isfinite(value):
            return "—"
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def _png(fig: Figure, path: Path) -> str:
    """Save `fig` to `path` and return it as base64 PNG."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    path.write_bytes(buf.getvalue())
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _gospa_figure(d: ScoreDetails) -> Figure:
    """GOSPA and OSPA over time, and GOSPA² split into its three parts."""
    fig = Figure(figsize=(10, 6), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True)
    pt = d.per_time
    top.plot(d.times_s, pt.gospa_m / 1e3, label="GOSPA", color="k")
    top.plot(d.times_s, pt.ospa_m / 1e3, label="OSPA", color="tab:purple", lw=0.8)
    top.set_ylabel("km")
    top.legend(loc="upper right")
    top.grid(alpha=0.3)
    bottom.stackplot(
        d.times_s, pt.localisation_m2 / 1e6, pt.missed_m2 / 1e6, pt.false_m2 / 1e6,
        labels=["localisation", "missed", "false"],
        colors=["tab:blue", "tab:orange", "tab:red"], alpha=0.8,
    )
    bottom.set_ylabel("GOSPA² parts (km²)")
    bottom.set_xlabel("time (s)")
    bottom.legend(loc="upper right")
    bottom.grid(alpha=0.3)
    return fig


def _segments(ident: IntArray, x_km: FloatArray, y_km: FloatArray) -> list[FloatArray]:
    """One polyline per identity (rows sorted by identity then time)."""
    _, starts = np.unique(ident, return_index=True)
    xy = np.column_stack([x_km, y_km])
    return [s for s in np.split(xy, starts[1:]) if len(s) > 1]


def _released_rows(rows: ConfirmedRows) -> ConfirmedRows:
    """The confirmed rows the local operator may see, through the egress gate."""
    n = rows.t.size
    nan = np.full(n, np.nan)
    table = TrackTable(
        track_id=rows.track_id, t=rows.t, x=rows.x, y=rows.y, vx=rows.vx, vy=rows.vy,
        status=np.full(n, TrackStatus.CONFIRMED, np.int8), alt_ft=nan, vrate_fpm=nan,
        icao24=np.zeros(n, np.int64), callsign=np.full(n, "", object),
        squawk=np.full(n, -1, np.int16), sigma_pos_m=nan, last_update_t=rows.t,
        flags=np.zeros(n, np.uint16), sensor_ids=np.empty(0, np.int32),
        sensor_last_t=np.empty((n, 0)),
    )
    out = Egress().tracks(table, LOCAL)
    return ConfirmedRows(out.track_id, out.t, out.x, out.y, out.vx, out.vy)


def _map_figure(truth: pa.Table, rows: ConfirmedRows) -> Figure:
    """Truth in grey, confirmed tracks coloured by identity, x/y in km."""
    fig = Figure(figsize=(9, 9))
    ax = fig.subplots()
    tid = np.asarray(truth.column("target_id").to_numpy(), np.int64)
    t = np.asarray(truth.column("t").to_numpy(), np.float64)
    order = np.lexsort((t, tid))
    tx = np.asarray(truth.column("x").to_numpy(), np.float64)[order] / 1e3
    ty = np.asarray(truth.column("y").to_numpy(), np.float64)[order] / 1e3
    ax.add_collection(LineCollection(_segments(tid[order], tx, ty), colors="0.6", lw=2.5,
                                     alpha=0.6, label="truth"))
    segs = _segments(rows.track_id, rows.x / 1e3, rows.y / 1e3)
    colours = matplotlib.colormaps["tab20"](np.arange(len(segs)) % 20) if segs else "C0"
    ax.add_collection(LineCollection(segs, colors=colours, lw=1.0, label="confirmed tracks"))
    ax.scatter(rows.x / 1e3, rows.y / 1e3, s=1, c="k", alpha=0.3)
    ax.autoscale()
    ax.set_aspect("equal")
    ax.set_xlabel("x east (km)")
    ax.set_ylabel("y north (km)")
    ax.legend(loc="upper right")
    ax.grid(alpha=0.3)
    return fig


def _error_figure(d: ScoreDetails) -> Figure:
    """Histograms of position and velocity errors over the assigned pairs."""
    fig = Figure(figsize=(10, 4), layout="constrained")
    left, right = fig.subplots(1, 2)
    for ax, values, name in ((left, d.pos_err_m, "position error (m)"),
                             (right, d.vel_err_mps, "velocity error (m/s)")):
        finite = values[np.isfinite(values)]
        if finite.size:
            hi = max(float(np.quantile(finite, 0.99)), 1e-9)
            ax.hist(np.clip(finite, 0, hi), bins=60, color="tab:blue")
        ax.set_xlabel(f"{name}, last bin: beyond the 99th percentile")
        ax.set_ylabel("assigned pairs")
        ax.grid(alpha=0.3)
    return fig


def _table_html(summary: ScoreSummary) -> str:
    data = summary.to_json()
    rows = "".join(
        f"<tr><td>{html.escape(label)}</td><td>{html.escape(format_value(data.get(key)))}"
        "</td></tr>" for key, label in LABELS.items()
    )
    return f"<table>{rows}</table>"


def write_report(
    scenario_dir: Path, tracks: Path | pa.Table, out_dir: Path, summary: ScoreSummary
) -> Path:
    """Write report.html (PNGs embedded) and the PNGs into `out_dir`; return the HTML path."""
    from airpicture.io.scenario import read_truth

    scenario_dir, out_dir = Path(scenario_dir), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    details = summary.details
    if details is None:
        details = score_scenario(scenario_dir, tracks, t_min_s=summary.t_min_s,
                                 step_s=summary.step_s).details
        assert details is not None
    rows = _released_rows(ConfirmedRows.from_table(_load_tracks(tracks), end_rows=False))
    truth = read_truth(scenario_dir)
    images = [
        ("GOSPA over time", _png(_gospa_figure(details), out_dir / "gospa.png")),
        ("Confirmed tracks over truth", _png(_map_figure(truth, rows), out_dir / "map.png")),
        ("Errors of assigned tracks", _png(_error_figure(details), out_dir / "errors.png")),
    ]
    figures = "".join(
        f"<h2>{html.escape(title)}</h2><img alt='{html.escape(title)}' "
        f"src='data:image/png;base64,{b64}'>" for title, b64 in images
    )
    step = "every truth time" if summary.step_s is None else f"every {summary.step_s:g} s"
    page = (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>airpicture score: {html.escape(scenario_dir.name)}</title><style>"
        "body{font-family:sans-serif;max-width:1000px;margin:auto}img{max-width:100%}"
        "td{padding:2px 12px;border-bottom:1px solid #ddd}td:last-child{text-align:right}"
        "</style></head><body>"
        f"<h1>Score of {html.escape(str(tracks) if isinstance(tracks, Path) else 'tracks')}"
        f" on {html.escape(scenario_dir.name)}</h1>"
        f"<p>Confirmed tracks only, scored from t = {summary.t_min_s:g} s, {step}; a track "
        "counts until 12 s after its last row, predicted with its velocity.</p>"
        f"{_table_html(summary)}{figures}</body></html>\n"
    )
    out = out_dir / "report.html"
    out.write_text(page)
    return out
