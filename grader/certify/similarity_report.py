"""``similarity.csv`` (every pair compared) and ``similarity.html`` (ranked pairs, side by side).

The page is one self-contained file: the pairs at or above the threshold first, then each
exercise's pairs ranked by score, each with both students' code side by side and the matched
regions highlighted. Rendering only: nothing here compares.
"""

from __future__ import annotations

import csv
import html
import io
from pathlib import Path

from grader.certify.similarity import MIN_CHARS, Match, Screen
from grader.outputs.files import atomic_write

SHOWN_PER_EXERCISE = 15  # pairs listed per exercise beyond the flagged ones (the CSV has all)
e = html.escape


def similarity_csv(s: Screen) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["exercise", "student_a", "student_b", "score", "share_a", "share_b", "chars_a", "chars_b",
                "judged", "flagged", "cleared"])
    flagged = set(s.flagged())
    for m in s.matches:
        w.writerow([m.exercise, m.a, m.b, f"{m.score:.3f}", f"{m.share_a:.3f}", f"{m.share_b:.3f}", m.chars_a,
                    m.chars_b, str(m.judged).lower(), str(m in flagged).lower(), str(s.is_cleared(m)).lower()])
    return out.getvalue()


def _marked(text: str, regions: tuple[tuple[int, int], ...]) -> str:
    parts, at = [], 0
    for start, end in sorted(regions):
        start = max(start, at)
        if end <= start:
            continue
        parts.append(e(text[at:start]))
        parts.append(f"<mark>{e(text[start:end])}</mark>")
        at = end
    parts.append(e(text[at:]))
    return "".join(parts)


def _pair(s: Screen, m: Match, flagged: bool) -> str:
    code_a = s.code.get((m.a, m.exercise), "")
    code_b = s.code.get((m.b, m.exercise), "")
    status = ("cleared" if s.is_cleared(m) else "flagged") if flagged else ("" if m.judged else "too short to judge")
    return (f"<details class='{status.split()[0] if status else 'pair'}'><summary><code>{e(m.exercise)}</code> "
            f"<strong>{e(m.a)}</strong> ↔ <strong>{e(m.b)}</strong> <span class=score>{100 * m.score:.0f}%</span> "
            f"<span class=dim>({100 * m.share_a:.0f}% of {e(m.a)}'s {m.chars_a} characters, "
            f"{100 * m.share_b:.0f}% of {e(m.b)}'s {m.chars_b})</span> <em>{e(status)}</em></summary>"
            f"<div class=side><div><h4>{e(m.a)}</h4><pre>{_marked(code_a, m.regions_a)}</pre></div>"
            f"<div><h4>{e(m.b)}</h4><pre>{_marked(code_b, m.regions_b)}</pre></div></div></details>")


def render(s: Screen, title: str) -> str:
    flagged = s.flagged()
    top = "".join(_pair(s, m, True) for m in flagged) or "<p>No pair reaches the threshold.</p>"
    sections = []
    for ex in s.exercises:
        ranked = [m for m in s.matches if m.exercise == ex]
        if not ranked:
            continue
        shown = ranked[:SHOWN_PER_EXERCISE]
        shown += [m for m in ranked[SHOWN_PER_EXERCISE:] if m in flagged]
        more = len(ranked) - len(shown)
        sections.append(f"<h3 id='ex-{e(ex)}'>{e(ex)}</h3>" + "".join(_pair(s, m, m in flagged) for m in shown)
                        + (f"<p class=dim>… and {more} more pairs in similarity.csv</p>" if more else ""))
    held = s.held()
    held_rows = "".join(f"<tr><td>{e(k)}</td><td>{e(v)}</td></tr>" for k, v in sorted(held.items()))
    unreadable = "".join(f"<li>{e(k)}: {e(v)}</li>" for k, v in sorted(s.unreadable.items()))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{e(title)} — similarity</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 80rem; margin: 2rem auto; color: #1a202c; }}
details {{ border: 1px solid #e2e8f0; border-radius: 4px; margin: .3rem 0; padding: .3rem .6rem; }}
details.flagged {{ border-color: #c53030; background: #fff5f5; }} details.cleared {{ border-color: #2f855a; }}
.side {{ display: grid; grid-template-columns: 1fr 1fr; gap: 1rem; }}
pre {{ background: #f7fafc; padding: .5rem; overflow-x: auto; font-size: .8rem; }}
mark {{ background: #feb2b2; }} .score {{ font-weight: bold; }} .dim {{ color: #718096; font-size: .85rem; }}
table {{ border-collapse: collapse; }} td, th {{ border-bottom: 1px solid #e2e8f0; padding: .2rem .5rem; text-align: left; }}
</style></head><body>
<h1>{e(title)}: similarity between students</h1>
<p>{len(s.students)} students, {len(s.exercises)} exercises, {len(s.matches)} pairs compared with copydetect
(winnowing; names, strings, comments and layout ignored; the stub and the statement's code are boilerplate).
A pair is flagged at a score of <strong id=threshold>{100 * s.threshold:.0f}%</strong> or more on an exercise
where both wrote at least {MIN_CHARS} characters of their own (filtered code).</p>
<h2>Held until cleared</h2>
<table id=held><tr><th>student</th><th>why</th></tr>{held_rows}</table>
{f'<h2>Could not be read</h2><ul>{unreadable}</ul>' if unreadable else ''}
<h2>Flagged pairs</h2>
<div id=flagged>{top}</div>
<h2>By exercise</h2>
{''.join(sections)}
</body></html>
"""


def write_reports(s: Screen, out: Path, title: str) -> tuple[Path, Path]:
    page, table = out / "similarity.html", out / "similarity.csv"
    atomic_write(page, render(s, title))
    atomic_write(table, similarity_csv(s))
    return page, table
