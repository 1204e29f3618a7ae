"""``summary.html``: a class at a glance, one self-contained file with its plots embedded.

Built only from saved reports (``grade-report/1``): the score distribution, per-exercise and
per-check pass rates (the checks most students failed first), timing ratios, each track's results,
and a table of students with their track percentages and, after ``--certify``, their certificate.
"""

from __future__ import annotations

import base64
import html
import io
import statistics
from collections import defaultdict
from pathlib import Path

from grader.outputs.files import atomic_write
from grader.grading.results import Report, track_totals
from grader.messages import Translator

e = html.escape


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _percent(r: Report) -> float:
    return 100.0 * r.score / r.max_score if r.max_score else 0.0


def check_pass_rates(reports: dict[str, Report]) -> list[tuple[str, str, bool, int, int]]:
    """(exercise, check, hidden, passed, total) for every check, most-failed first."""
    counts: dict[tuple[str, str, bool], list[int]] = defaultdict(lambda: [0, 0])
    for r in reports.values():
        for ex in r.exercises:
            for c in ex.checks:
                slot = counts[(ex.id, c.name, c.hidden)]
                slot[0] += c.status == "passed"
                slot[1] += 1
    rows = [(ex, name, hidden, p, t) for (ex, name, hidden), (p, t) in counts.items()]
    return sorted(rows, key=lambda row: (row[3] / row[4] if row[4] else 1.0, row[0], row[1]))


def _figures(reports: dict[str, Report]) -> dict[str, str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    figs: dict[str, str] = {}
    percents = [_percent(r) for r in reports.values()]
    fig, ax = plt.subplots(figsize=(7, 3))
    ax.hist(percents, bins=[i * 10 for i in range(11)], color="#2b6cb0", edgecolor="white")
    ax.set_xlabel("score (%)")
    ax.set_ylabel("students")
    ax.set_title("Score distribution")
    figs["distribution"] = _png(fig)

    ex_ids: list[str] = []
    for r in reports.values():
        ex_ids += [x.id for x in r.exercises if x.id not in ex_ids]
    rates = []
    for ex_id in ex_ids:
        results = [x for r in reports.values() for x in r.exercises if x.id == ex_id]
        rates.append(100.0 * sum(x.max_score > 0 and x.score == x.max_score for x in results) / max(len(results), 1))
    fig, ax = plt.subplots(figsize=(7, max(2.0, 0.3 * len(ex_ids) + 1)))
    ax.barh(ex_ids[::-1], rates[::-1], color="#38a169")
    ax.set_xlim(0, 100)
    ax.set_xlabel("students with full marks (%)")
    ax.set_title("Per-exercise pass rate")
    figs["exercises"] = _png(fig)

    ratios: dict[str, list[float]] = defaultdict(list)
    for r in reports.values():
        for ex in r.exercises:
            for c in ex.checks:
                if c.kind == "timing" and c.timing and c.timing.get("ratio") is not None:
                    ratios[f"{ex.id}: {c.name}"].append(float(c.timing["ratio"]))
    if ratios:
        fig, ax = plt.subplots(figsize=(7, max(2.0, 0.35 * len(ratios) + 1)))
        labels = sorted(ratios)
        ax.boxplot([ratios[k] for k in labels], orientation="horizontal", tick_labels=labels)
        ax.set_xscale("log")
        plain = matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}×")
        ax.xaxis.set_major_formatter(plain)
        ax.xaxis.set_minor_formatter(plain)
        ax.set_xlabel("time ratio, student / baseline (log scale)")
        ax.set_title("Timing ratios")
        figs["timing"] = _png(fig)
    return figs


def track_table(reports: dict[str, Report]) -> list[tuple[str, int, float, float]]:
    """(track, students, mean %, median %) for every track the reports name."""
    per: dict[str, list[float]] = defaultdict(list)
    for r in reports.values():
        for t in track_totals(r):
            per[t.track].append(t.percent)
    return [(t, len(v), statistics.fmean(v), statistics.median(v)) for t, v in per.items()]


def render(reports: dict[str, Report], title: str, errors: dict[str, str] | None = None,
           certificates: dict[str, str] | None = None, lang: str = "en",
           track_titles: dict[str, str] | None = None) -> str:
    """The page in ``lang``; the plots' labels stay English (a CJK font cannot be assumed)."""
    tr = Translator(lang)
    titles = track_titles or {}
    errors = errors or {}
    figs = _figures(reports) if reports else {}
    percents = [_percent(r) for r in reports.values()]
    mean = statistics.fmean(percents) if percents else 0.0
    median = statistics.median(percents) if percents else 0.0
    imgs = "".join(f'<figure><img alt="{k}" src="{v}"></figure>' for k, v in figs.items())
    check_rows = "".join(
        f"<tr><td><code>{e(ex)}</code></td><td>{e(name)}{' <em>' + tr('summary.hidden') + '</em>' if hidden else ''}</td>"
        f"<td class=num>{p}/{t}</td><td class=num>{100.0 * p / t if t else 0:.0f}%</td></tr>"
        for ex, name, hidden, p, t in check_pass_rates(reports))
    tracks = track_table(reports)
    track_rows = "".join(f"<tr><td>{e(titles.get(t, t))}</td><td class=num>{n}</td><td class=num>{mean_t:.1f}%</td>"
                         f"<td class=num>{median_t:.1f}%</td></tr>" for t, n, mean_t, median_t in tracks)
    names = [t for t, *_ in tracks]
    cert = certificates is not None

    def cells(r: Report) -> str:
        got = {t.track: t.percent for t in track_totals(r)}
        return "".join(f"<td class=num>{got[t]:.1f}%</td>" if t in got else "<td class=num>–</td>" for t in names)

    def cert_cell(s: str) -> str:
        return f"<td>{e((certificates or {}).get(s, ''))}</td>" if cert else ""

    student_rows = "".join(
        f"<tr><td>{e(s)}</td><td class=num>{r.score:g}/{r.max_score:g}</td><td class=num>{_percent(r):.1f}%</td>"
        f"{cells(r)}{cert_cell(s)}<td>{e('; '.join(x.error for x in r.exercises if x.error)[:200])}</td></tr>"
        for s, r in sorted(reports.items()))
    student_rows += "".join(f"<tr><td>{e(s)}</td><td class=num>–</td><td class=num>–</td>"
                            f"{'<td class=num>–</td>' * len(names)}{cert_cell(s)}<td>{e(msg)}</td></tr>"
                            for s, msg in sorted(errors.items()))
    track_heads = "".join(f"<th class=num>{e(titles.get(t, t))}</th>" for t in names)
    tracks_table = (f"<h2>{tr('summary.tracks_heading')}</h2><table id=tracks><tr><th>{tr('summary.track')}</th>"
                    f"<th class=num>{tr('summary.students')}</th><th class=num>{tr('summary.mean_column')}</th>"
                    f"<th class=num>{tr('summary.median_column')}</th></tr>{track_rows}</table>") if tracks else ""
    return f"""<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8"><title>{e(tr('summary.page_title', title=title))}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; color: #1a202c; }}
table {{ border-collapse: collapse; width: 100%; margin-bottom: 2rem; font-size: .9rem; }}
td, th {{ border-bottom: 1px solid #e2e8f0; padding: .3rem .5rem; text-align: left; }}
.num {{ text-align: right; font-variant-numeric: tabular-nums; }}
figure {{ margin: 1rem 0; }} img {{ max-width: 100%; }}
.stats span {{ display: inline-block; margin-right: 2rem; font-size: 1.1rem; }}
</style></head><body>
<h1>{e(title)}</h1>
<p class=stats><span>{tr('summary.students_count')} <strong id=n>{len(reports) + len(errors)}</strong></span>
<span>{tr('summary.mean')} <strong>{mean:.1f}%</strong></span><span>{tr('summary.median')} <strong>{median:.1f}%</strong></span></p>
{imgs}
<h2>{tr('summary.checks_heading')}</h2>
<table id=checks><tr><th>{tr('summary.exercise')}</th><th>{tr('summary.check')}</th><th class=num>{tr('summary.passed')}</th><th class=num>{tr('summary.rate')}</th></tr>{check_rows}</table>
{tracks_table}
<h2>{tr('summary.students_heading')}</h2>
<table id=students><tr><th>{tr('summary.student')}</th><th class=num>{tr('summary.score')}</th><th class=num>%</th>{track_heads}{'<th>' + tr('summary.certificate') + '</th>' if cert else ''}<th>{tr('summary.errors')}</th></tr>{student_rows}</table>
<script>
window.addEventListener("load", () => {{
  document.body.dataset.rendered = String(Array.from(document.images).every(i => i.complete && i.naturalWidth > 0));
}});
</script>
</body></html>
"""


def write_summary(reports: dict[str, Report], path: Path, title: str, errors: dict[str, str] | None = None,
                  certificates: dict[str, str] | None = None, lang: str = "en",
                  track_titles: dict[str, str] | None = None) -> None:
    atomic_write(path, render(reports, title, errors, certificates, lang, track_titles))
