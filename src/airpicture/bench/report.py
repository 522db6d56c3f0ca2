"""The benchmark's outputs: targets checked against the figures, one rich table, JSON, Markdown."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.table import Table

ROLE_SPEED, ROLE_THROUGHPUT, ROLE_ACCURACY = "speed", "throughput", "accuracy"


def _num(value: Any, digits: int = 0, prefix: str = "") -> str:
    """A number for the table, '-' for none."""
    if not isinstance(value, int | float):
        return "-"
    return f"{prefix}{value:,.{digits}f}"


def _sig(value: Any) -> str:
    """A figure of another part: thousands separated when large, 3 significant digits when small."""
    if not isinstance(value, int | float):
        return "-"
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"


def _x(value: Any) -> str:
    """A ratio as '12.3x', '-' for none."""
    if not isinstance(value, int | float):
        return "-"
    return f"{value:,.3g}x" if value < 1000 else f"{value:,.0f}x"


def _pick(scenarios: list[dict[str, Any]], kind: str, largest: bool) -> dict[str, Any] | None:
    """The largest or smallest scenario whose preset starts with kind."""
    found = [s for s in scenarios if s["scenario"].startswith(kind)]
    if not found:
        return None
    found.sort(key=lambda s: int(s["scenario"].rsplit("-", 1)[-1]))
    return found[-1] if largest else found[0]


def _target(role: str, sc: dict[str, Any] | None, what: str, value: Any, goal: str,
            met: bool | None, note: str = "") -> dict[str, Any]:
    return {"role": role, "scenario": sc["scenario"] if sc else None, "target": what,
            "value": value, "goal": goal, "met": met if isinstance(value, int | float) else None,
            "note": note}


def targets(scenarios: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Issue 4's targets, each with the measured value beside it (None: not measured)."""
    out = []
    speed = _pick(scenarios, "crossing-", largest=True)
    if speed is not None:
        r = speed["ratio"].get("plots_per_s")
        lb = bool(speed["stonesoup"].get("lower_bound"))
        out.append(_target(ROLE_SPEED, speed, "plots/s vs Stone Soup", r, ">= 1000x",
                           None if r is None else r >= 1000,
                           "Stone Soup's time is a lower bound, so this ratio is one too"
                           if lb else ""))
    thr = _pick(scenarios, "multi-sensor-", largest=True)
    if thr is not None:
        ap = thr["airpicture"]
        plots_s, p99, mem = ap.get("plots_per_s"), ap.get("p99_ms"), ap.get("peak_rss_mb")
        live = ap.get("live_tracks_end")
        out += [
            _target(ROLE_THROUGHPUT, thr, "plots/s on one core", plots_s, ">= 50,000",
                    None if plots_s is None else plots_s >= 50_000,
                    f"{live} live confirmed tracks, {thr.get('targets_alive_end')} aircraft "
                    "alive at the end" if live is not None else ""),
            _target(ROLE_THROUGHPUT, thr, "p99 time per slice (ms)", p99, "< 50",
                    None if p99 is None else p99 < 50.0,
                    "the tracker reported no per-slice times" if p99 is None else
                    f"slices of {ap['slice_s']:g} s" if ap.get("slice_s") else ""),
            _target(ROLE_THROUGHPUT, thr, "peak memory (MB)", mem, "< 1024",
                    None if mem is None else mem < 1024.0),
        ]
    acc = _pick(scenarios, "crossing-", largest=False)
    if acc is not None:
        full = acc["airpicture"].get("score") or {}
        same = acc["airpicture"].get("score_window") or full
        peer = acc["stonesoup"].get("score") or {}
        g, gp = same.get("gospa_m"), peer.get("gospa_m")
        rms, idc = full.get("rms_pos_m"), full.get("id_changes_turning")
        out += [
            _target(ROLE_ACCURACY, acc, "GOSPA below Stone Soup's (m)", g,
                    f"< {gp:,.0f}" if isinstance(gp, int | float) else "< Stone Soup",
                    None if g is None or gp is None else g < gp,
                    "on Stone Soup's scored window" if same is not full else ""),
            _target(ROLE_ACCURACY, acc, "position RMS (m)", rms, "< 200",
                    None if rms is None else rms < 200.0),
            _target(ROLE_ACCURACY, acc, "identity changes on turning targets", idc, "0",
                    None if idc is None else idc == 0,
                    f"{full.get('turning_targets')} turning targets; "
                    f"{full.get('id_changes')} id changes over all targets"),
        ]
    return out


def _tracker_cells(entry: dict[str, Any]) -> list[str]:
    """Figure cells of one tracker's row; an estimate is marked '~' (or '<=' for a bound)."""
    mark = ("<=" if entry.get("lower_bound") else "~") if entry.get("extrapolated") else ""
    s = entry.get("score") or {}
    return [_num(entry.get("plots_per_s"), 0, mark), _num(entry.get("realtime_ratio"), 2, mark),
            _num(entry.get("p50_ms"), 1), _num(entry.get("p99_ms"), 1),
            _num(entry.get("peak_rss_mb"), 0), _num(s.get("gospa_m"), 0),
            _num(s.get("rms_pos_m"), 0), _num(s.get("id_changes"), 0)]


def _tracker_note(entry: dict[str, Any]) -> str:
    """Status, extrapolation and scoring-window remarks for the notes column."""
    if entry.get("status") != "ok":
        return f"{entry.get('status')}: {entry.get('note', '')}".strip(": ")
    notes = []
    if entry.get("slice_s"):
        notes.append(f"p50/p99 per {entry['slice_s']:g} s time slice "
                     f"({_num(entry.get('p50_scan_ms'), 1)}/{_num(entry.get('p99_scan_ms'), 1)}"
                     " ms per 4 s of plots, which the ratios use)")
    elif entry.get("tracker") == "stonesoup":
        stamp = str((entry.get("config") or {}).get("stamp"))
        notes.append("p50/p99 per 4 s scan" + {
            "plot": "; Detections at their plot times", "scan": "; Detections at scan start"
        }.get(stamp, ""))
    if entry.get("extrapolated"):
        notes.append(f"extrapolated from {entry['scans_done']}/{entry['scans_total']} scans "
                     f"({entry['budget_s']:g} s budget)" + (", lower bound"
                                                            if entry.get("lower_bound") else "")
                     + "; peak MB over the scans it ran")
    if entry.get("score_note"):
        notes.append(entry["score_note"])
    turns = entry.get("score") or {}
    if turns.get("turning_targets"):
        notes.append(f"{turns.get('id_changes_turning')} id changes on "
                     f"{turns['turning_targets']} turning targets")
    if entry.get("score_window"):
        notes.append("accuracy ratios use Stone Soup's window")
    if (entry.get("score") or {}).get("note"):
        notes.append(entry["score"]["note"])
    return "; ".join(notes)


FIGURE_HEADERS = ("plots/s", "real-time", "p50 ms", "p99 ms", "peak MB", "GOSPA m", "RMS m",
                  "id ch.")


def rich_table(result: dict[str, Any]) -> Table:
    """One table: every scenario's trackers and ratios, then the other parts' rows."""
    table = Table(title="airpicture bench" + (" (quick)" if result.get("quick") else ""))
    for header in ("section", "case", "who", *FIGURE_HEADERS, "notes"):
        table.add_column(header, justify="right" if header in FIGURE_HEADERS else "left")
    for sc in result["sections"].get("tracker", {}).get("scenarios", []):
        for who in ("airpicture", "stonesoup"):
            table.add_row("tracker", sc["scenario"], who, *_tracker_cells(sc[who]),
                          _tracker_note(sc[who]))
        r = sc["ratio"]
        table.add_row("tracker", sc["scenario"], "airpicture/SS", *(_x(r.get(k)) for k in (
            "plots_per_s", "realtime_ratio", "p50_ms", "p99_ms", "peak_rss_mb", "gospa_m",
            "rms_pos_m", "id_changes")), "ratio of the two rows above", end_section=True)
    blank = [""] * len(FIGURE_HEADERS)
    for name, section in result["sections"].items():
        if name == "tracker":
            continue
        if section["status"] != "ok":
            table.add_row(name, "-", "-", *blank, f"{section['status']}: {section.get('note', '')}")
        for row in section.get("rows", []):
            table.add_row(name, str(row.get("name", "")), "airpicture", *blank, _row_text(row))
        table.add_section()
    return table


def _row_text(row: dict[str, Any]) -> str:
    """A part's figure with its peer and ratio, as one phrase."""
    text = f"{_sig(row.get('value'))} {row.get('unit') or ''}".strip()
    if row.get("peer"):
        text += f" vs {row['peer']} {_sig(row.get('peer_value'))}"
        text += f" ({_x(row.get('ratio'))})"
    if row.get("notes"):
        text += f"; {row['notes']}"
    return text


def markdown(result: dict[str, Any]) -> str:
    """The results as Markdown: tracker table with ratios, targets, other parts' rows."""
    lines = [f"# airpicture bench{' (quick)' if result.get('quick') else ''}", "",
             f"Run {result['created_utc']} on {result['machine']['cpu']} "
             f"({result['machine']['cores']} cores; figures are one-core figures). "
             + _load_text(result)]
    if "tracker" in result["sections"]:
        lines += _tracker_markdown(result["sections"]["tracker"])
    for name, section in result["sections"].items():
        if name == "tracker":
            continue
        lines += ["", f"## {name}", ""]
        if section["status"] != "ok":
            lines.append(f"{section['status']}: {section.get('note', '')}")
            continue
        lines += ["| case | figure |", "|---|---|"]
        lines += [f"| {row.get('name', '')} | {_row_text(row)} |" for row in section["rows"]]
    return "\n".join(lines) + "\n"


def _load_text(result: dict[str, Any]) -> str:
    """The machine's 1-minute load at start and end: other work slows every figure down."""
    load = result.get("load_1min")
    if not isinstance(load, dict):
        return ""
    return (f"Load average (1 min) {load.get('start', 0):.1f} at the start, "
            f"{load.get('end', 0):.1f} at the end: a shared machine slows both trackers.")


def _tracker_markdown(section: dict[str, Any]) -> list[str]:
    """The tracker table with its ratio rows, then the targets table."""
    lines = ["", "Ratios are airpicture / Stone Soup. `~` marks an extrapolated figure, "
             "`<=` an upper bound (Stone Soup stopped inside a scan).", "",
             "| scenario | tracker | " + " | ".join(FIGURE_HEADERS) + " | notes |",
             "|---|---|" + "---:|" * len(FIGURE_HEADERS) + "---|"]
    for sc in section.get("scenarios", []):
        for who in ("airpicture", "stonesoup"):
            lines.append(f"| {sc['scenario']} | {who} | " + " | ".join(_tracker_cells(sc[who]))
                         + f" | {_tracker_note(sc[who])} |")
        r = sc["ratio"]
        lines.append(f"| {sc['scenario']} | **ratio** | " + " | ".join(_x(r.get(k)) for k in (
            "plots_per_s", "realtime_ratio", "p50_ms", "p99_ms", "peak_rss_mb", "gospa_m",
            "rms_pos_m", "id_changes")) + " | |")
    lines += ["", "## Targets (issue 4)", "", "| scenario | target | value | goal | met | note |",
              "|---|---|---:|---|---|---|"]
    for t in section.get("targets", []):
        met = {True: "yes", False: "**no**", None: "not measured"}[t["met"]]
        lines.append(f"| {t['scenario']} | {t['target']} | {_num(t['value'], 1)} | {t['goal']} "
                     f"| {met} | {t['note']} |")
    return lines


def write_results(result: dict[str, Any], out_dir: Path) -> tuple[Path, Path]:
    """latest.json and latest.md under out_dir."""
    out_dir.mkdir(parents=True, exist_ok=True)
    js, md = out_dir / "latest.json", out_dir / "latest.md"
    js.write_text(json.dumps(result, indent=1, default=str) + "\n")
    md.write_text(markdown(result))
    return js, md
