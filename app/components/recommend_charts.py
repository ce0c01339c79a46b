"""Charts of the Recommend page: a video's predicted per-clip curve against what the user did,
the top-K heatmap, and the score attribution waterfall (average candidate → this video).

Altair (Vega-Lite), like Graph Inspector's: Vega is loaded in the browser by Skip Explorer already,
and a first Plotly chart costs each browser session about 2 CPU seconds to load Plotly's bundle
(README "The app under load"). Ids are shown through :func:`visible` (Vega draws text as text)."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from frame_core.common import schema as S
from frame_core.common.display import visible
from frame_core.model.attribution import PART_TITLES, PARTS

BLUE = "#2563eb"
RED = "#dc2626"
GREEN = "#16a34a"
SERIES = ["P(not skip clip | reached)", "the lowest clip", "P(still watching after clip)"]


def clip_chart(p_clip: np.ndarray, duration: float, mode: str, actual, title: str) -> alt.LayerChart:
    """Bars: P(not skip clip c | clip c reached), the lowest in red; line: their running product,
    P(still watching after clip c). ``actual`` (a held-out view or None) adds where the user left
    (a dashed rule at its clip) or that they watched to the end. ``mode`` is the run's video score
    (named in the caption, not drawn)."""
    p_clip = np.asarray(p_clip, dtype="float64")
    nc = len(p_clip)
    step = duration / nc
    weakest = int(np.argmin(p_clip))
    bars = pd.DataFrame({
        "clip": np.arange(nc), "p": p_clip, "survival": np.cumprod(p_clip),
        "seconds": [f"{c * step:.1f}–{(c + 1) * step:.1f} s" for c in range(nc)],
        "series": [SERIES[1] if c == weakest else SERIES[0] for c in range(nc)],
    })
    x = alt.X("clip:O", title=f"clip (each {step:.1f} s of a {duration:.1f} s video)", axis=alt.Axis(labelAngle=0))
    y = alt.Y("p:Q", title="probability", scale=alt.Scale(domain=[0, 1.12]))
    colour = alt.Color("series:N", scale=alt.Scale(domain=SERIES, range=[BLUE, RED, GREEN]),
                       legend=alt.Legend(title=None, orient="bottom", direction="vertical"))
    tip = [alt.Tooltip("clip:O"), alt.Tooltip("seconds:N", title="time"),
           alt.Tooltip("p:Q", title="P(not skip | reached)", format=".3f"),
           alt.Tooltip("survival:Q", title="P(still watching after)", format=".3f")]
    layers = [
        alt.Chart(bars).mark_bar().encode(x=x, y=y, color=colour, tooltip=tip),
        alt.Chart(bars).transform_calculate(series=f"'{SERIES[2]}'").mark_line(point=True).encode(
            x=x, y=alt.Y("survival:Q", scale=alt.Scale(domain=[0, 1.12])), color=colour, tooltip=tip),
    ]
    if actual is not None:
        if actual["full_view"]:
            note = pd.DataFrame({"clip": [nc - 1], "y": [1.06], "text": ["user watched to the end"]})
            layers.append(alt.Chart(note).mark_text(color=GREEN, align="right", dx=20).encode(
                x=x, y=alt.Y("y:Q", scale=alt.Scale(domain=[0, 1.12])), text="text:N"))
        else:
            k = int(actual["skip_clip"])
            note = pd.DataFrame({"clip": [k], "y": [1.06], "text": [f"user left here ({actual[S.PLAY]:.1f} s)"]})
            layers.append(alt.Chart(note).mark_rule(color="black", strokeDash=[5, 3]).encode(x=x))
            layers.append(alt.Chart(note).mark_text().encode(
                x=x, y=alt.Y("y:Q", scale=alt.Scale(domain=[0, 1.12])), text="text:N"))
    return alt.layer(*layers).properties(title=visible(title), height=400)


def top_k_heatmap(top: pd.DataFrame, clip_cols: list[str]) -> alt.LayerChart:
    """Predicted P(not skip) of each clip (columns ``clip_cols``) for the top-K videos, in rank
    order; the colour scale starts at the lowest tenth below the data (at most 0.9), which keeps
    contrast among high values."""
    z = top[clip_cols].to_numpy(dtype="float64")
    names = [f"#{i + 1} {visible(v)}" for i, v in enumerate(top[S.VIDEO])]
    lo = min(float(np.floor(np.nanmin(z) * 10) / 10), 0.9) if z.size else 0.0
    ri, ci = np.indices(z.shape).reshape(2, -1)
    long = pd.DataFrame({"video": np.asarray(names, dtype=object)[ri], "clip": ci, "p": z.ravel()})
    enc = {"x": alt.X("clip:O", title="clip", axis=alt.Axis(labelAngle=0)),
           "y": alt.Y("video:N", sort=names, title="recommended video (rank)", axis=alt.Axis(labelLimit=200)),
           "tooltip": [alt.Tooltip("video:N"), alt.Tooltip("clip:O"), alt.Tooltip("p:Q", title="P(not skip)", format=".3f")]}
    cells = alt.Chart(long).mark_rect(stroke="white", strokeWidth=1).encode(
        color=alt.Color("p:Q", title="P(not skip)", scale=alt.Scale(scheme="redyellowgreen", domain=[lo, 1], clamp=True)),
        **enc)
    text = alt.Chart(long).mark_text(fontSize=10).encode(text=alt.Text("p:Q", format=".2f"), **enc)
    return (cells + text).properties(
        title=f"Predicted not-skip probability per clip, top-K videos (colour scale starts at {lo:.1f})",
        height=max(260, 26 * len(top) + 120))


def attribution_steps(out: dict, video: str) -> pd.DataFrame:
    """The waterfall's bars: the average candidate (from 0), one step per part of
    :mod:`frame_core.model.attribution` (from the running total), and this video's score (from 0).
    Columns ``name``, ``kind`` (start, up, down, total), ``start``, ``end``, ``label``."""
    names = ["average candidate"] + [PART_TITLES[p] for p in PARTS] + [f"video {visible(video)}"]
    deltas = [out["parts"][p] for p in PARTS]
    level = out["baseline"] + np.concatenate([[0.0], np.cumsum(deltas)])
    rows = [("start", 0.0, out["baseline"], f"{out['baseline']:.3f}")]
    rows += [("up" if d >= 0 else "down", level[i], level[i + 1], f"{d:+.3f}") for i, d in enumerate(deltas)]
    rows.append(("total", 0.0, out["score"], f"{out['score']:.3f}"))
    df = pd.DataFrame(rows, columns=["kind", "start", "end", "label"])
    df.insert(0, "name", names)
    df["top"] = df[["start", "end"]].max(axis=1)
    return df


def attribution_chart(out: dict, video: str) -> alt.LayerChart:
    """Waterfall from the user's average candidate score to this video's score, one step per
    part (they add up exactly); the axis starts near the values, so the first and last bars
    (from 0) are cut at the bottom."""
    df = attribution_steps(out, video)
    lo = min(df["start"].iloc[1:-1].min(), df["end"].min())
    hi = df["top"].max()
    pad = max(0.02, 0.25 * (hi - lo))
    scale = alt.Scale(domain=[max(0.0, lo - pad), min(1.05, hi + pad)], clamp=True)
    x = alt.X("name:N", sort=list(df["name"]), title=None, axis=alt.Axis(labelAngle=-30, labelLimit=160, labelOverlap=False))
    colour = alt.Color("kind:N", scale=alt.Scale(domain=["start", "up", "down", "total"],
                                                 range=[BLUE, GREEN, RED, BLUE]), legend=None)
    bars = alt.Chart(df).mark_bar().encode(
        x=x, y=alt.Y("start:Q", scale=scale, title="predicted P(full view)"), y2="end:Q", color=colour,
        tooltip=[alt.Tooltip("name:N", title="part"), alt.Tooltip("label:N", title="value")])
    text = alt.Chart(df).mark_text(dy=-8).encode(x=x, y=alt.Y("top:Q", scale=scale), text="label:N")
    title = ["Why this video outranks", "the user's average candidate (P(full view))"]  # two lines: half a page wide
    return (bars + text).properties(title=title, height=380)


def attribution_sentence(out: dict) -> str:
    """The attribution in words (Markdown)."""
    parts = sorted(PARTS, key=lambda p: -abs(out["parts"][p]))
    main = parts[0]
    d = out["difference"]
    side = "above" if d >= 0 else "below"
    rest = ", ".join(f"{PART_TITLES[p]} {out['parts'][p]:+.3f}" for p in parts[1:])
    return (f"Its score **{out['score']:.3f}** is **{abs(d):.3f} {side}** the user's average candidate "
            f"({out['baseline']:.3f}, mean over {out['n_candidates']:,} candidate videos). The largest share comes "
            f"from **{PART_TITLES[main]}** ({out['parts'][main]:+.3f}); {rest}.")


def duration_note(top: pd.DataFrame, all_durations) -> str:
    """A caption when the top-K is much shorter or longer than the videos overall ("" otherwise)."""
    med_all = float(np.median(all_durations)) if len(all_durations) else float("nan")
    med_top = float(top[S.DURATION].median()) if len(top) else float("nan")
    if not (np.isfinite(med_all) and np.isfinite(med_top)) or med_all <= 0:
        return ""
    ratio = med_top / med_all
    if 0.67 <= ratio <= 1.5:
        return ""
    kind = "short" if ratio < 1 else "long"
    return (f"These top {len(top)} have a median length of {med_top:.1f} s against {med_all:.1f} s over all videos: "
            f"this run favours {kind} videos (see the attribution below for how much duration adds).")
