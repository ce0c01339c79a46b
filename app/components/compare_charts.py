"""Charts of the Compare page (Plotly): ROC and precision–recall curves, the N_c ablation,
per-user differences and the classroom experiment's dot plot. Each takes finished-run tables or
prediction tables and returns a figure with its title, axis labels and units."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd
import plotly.graph_objects as go

from frame_core.evaluation import metrics as M
from frame_core.evaluation import run_analysis as A
from frame_core.evaluation.stats import aggregate_runs

COLORS = ["#636efa", "#ef553b", "#00cc96", "#ab63fa", "#ffa15a", "#19d3f3", "#ff6692", "#b6e880"]


def roc_pr_figures(curves: list[tuple[str, pd.DataFrame]]) -> tuple[go.Figure, go.Figure]:
    roc, pr = go.Figure(), go.Figure()
    for i, (name, df) in enumerate(curves):
        color = COLORS[i % len(COLORS)]
        y, p = df["y"].to_numpy(), df["p_full"].to_numpy()
        r = A.roc_points(y, p)
        q = A.pr_points(y, p)
        if len(r):
            roc.add_trace(go.Scatter(x=r["fpr"], y=r["tpr"], mode="lines", line={"color": color},
                                     name=f"{name} (AUC {M.auc(y, p):.3f})"))
        if len(q):
            pr.add_trace(go.Scatter(x=q["recall"], y=q["precision"], mode="lines", line={"color": color},
                                    name=f"{name} (AP {A.average_precision(y, p):.3f})"))
    roc.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line={"dash": "dot", "color": "grey"}, name="random"))
    if curves and len(curves[0][1]):
        base = float(np.mean(curves[0][1]["y"]))
        pr.add_trace(go.Scatter(x=[0, 1], y=[base, base], mode="lines", line={"dash": "dot", "color": "grey"},
                                name=f"random (full-view share {base:.2f})"))
    legend = {"orientation": "h", "y": -0.3, "font": {"size": 11}}
    roc.update_layout(title="ROC curve, test views (label = full view)", xaxis_title="false positive rate",
                      yaxis_title="true positive rate", height=460, legend=legend)
    pr.update_layout(title="Precision–recall curve, test views", xaxis_title="recall (share of full views found)",
                     yaxis_title="precision", height=460, legend=legend)
    for f in (roc, pr):
        f.update_xaxes(range=[0, 1])
        f.update_yaxes(range=[0, 1.02])
    return roc, pr


def ablation_figure(runs: pd.DataFrame, metric: str) -> go.Figure | None:
    """Metric vs N_c with ±1 std error bars; one line per (setting, policy); the N_c = 1 point of a
    setting is shared by its policies."""
    if runs.empty or runs["nc"].nunique() < 2:
        return None
    fig = go.Figure()
    name = A.METRIC_NAMES[metric]
    i = 0
    for (setting, emb), g in runs.groupby(["setting", "embeddings"], sort=True):
        coarse = g[g["nc"] == 1]
        pols = sorted(p for p in g["policy"].unique() if p != "—") or ["—"]
        for pol in pols:
            sub = pd.concat([coarse, g[g["policy"] == pol]]) if pol != "—" else coarse
            agg = aggregate_runs(sub, ["nc"], [metric]).sort_values("nc")
            if len(agg) < 2:
                continue
            fig.add_trace(go.Scatter(
                x=agg["nc"], y=agg[f"{metric}_mean"], mode="lines+markers", name=f"{pol}, {emb} inputs ({setting})",
                error_y={"type": "data", "array": agg[f"{metric}_std"].fillna(0), "visible": True},
                line={"color": COLORS[i % len(COLORS)]}, customdata=agg["n"],
                hovertemplate="N_c=%{x}<br>" + name + " %{y:.4f}<br>runs %{customdata}<extra></extra>",
            ))
            i += 1
    if not fig.data:
        return None
    ticks = sorted(runs["nc"].unique())
    fig.update_layout(title=f"N_c ablation: test {name} vs clips per video (mean ± std over seeds)",
                      xaxis_title="clips per video N_c (log scale)", yaxis_title=f"test {name}", height=440,
                      showlegend=True, legend={"orientation": "h", "y": -0.3, "title": {"text": "policy, inputs (setting)"}})
    fig.update_xaxes(type="log", tickvals=ticks, ticktext=[str(t) for t in ticks])
    return fig


def per_user_figure(pu: pd.DataFrame, metric: str, a_name: str, b_name: str) -> go.Figure:
    unit = "AUC" if metric == "auc" else "logloss (nats)"
    fig = go.Figure()
    lo, hi = float(pu["diff"].min()), float(pu["diff"].max())
    size = max((hi - lo) / 30, 1e-3)
    bins = {"start": lo - size / 2, "end": hi + size / 2, "size": size}  # one grid for all three traces
    for outcome, color in (("A better", "#00cc96"), ("B better", "#ef553b"), ("tie", "#999999")):
        d = pu[pu["outcome"] == outcome]["diff"]
        if len(d):
            fig.add_trace(go.Histogram(x=d, name=outcome.replace("A", a_name).replace("B", b_name),
                                       marker_color=color, xbins=bins, opacity=0.85))
    fig.add_vline(x=0, line_dash="dot", line_color="grey")
    what = "AUC(FRAME) − AUC(coarse)" if metric == "auc" else "logloss(coarse) − logloss(FRAME)"
    fig.update_layout(barmode="stack", title=f"Per-user difference on shared test views: {what}",
                      xaxis_title=f"difference in {unit}; > 0 means {a_name} is better", yaxis_title="users",
                      height=400, legend={"orientation": "h", "y": -0.3})
    return fig


def experiment_chart(res: pd.DataFrame) -> alt.LayerChart:
    """Dot plot (the axis does not start at 0, so no bars): mean ± std per N_c as a diamond with
    its bar, seeds as dots. Altair, like the other charts a first visit of Compare draws: Vega is
    already loaded by then, Plotly would cost each browser session its bundle (README "The app
    under load")."""
    agg = aggregate_runs(res, ["nc"], ["auc"]).sort_values("nc", ascending=False)

    def name(nc) -> str:
        return f"N_c = {int(nc)} " + ("(coarse)" if int(nc) == 1 else "(FRAME)")

    order = [name(nc) for nc in agg["nc"]]
    means = pd.DataFrame({
        "model": order, "auc": agg["auc_mean"].to_numpy(dtype="float64"),
        "std": agg["auc_std"].fillna(0.0).to_numpy(dtype="float64"), "seeds": agg["n"].astype(int).to_numpy(),
    })
    means["low"], means["high"] = means["auc"] - means["std"], means["auc"] + means["std"]
    dots = pd.DataFrame({"model": [name(nc) for nc in res["nc"]], "auc": pd.to_numeric(res["auc"], errors="coerce"),
                         "seed": res["seed"].astype(str)})
    vals = dots["auc"].dropna()
    pad = max(0.02, float(vals.max() - vals.min())) if len(vals) else 0.02
    domain = [max(0.0, float(vals.min()) - pad), min(1.0, float(vals.max()) + pad)] if len(vals) else [0.0, 1.0]
    x = alt.X("model:N", sort=order, title="model", axis=alt.Axis(labelAngle=0))
    y = alt.Y("auc:Q", title="test AUC (video level)", scale=alt.Scale(domain=domain, zero=False))
    colour = alt.Color("model:N", sort=order, legend=None,
                       scale=alt.Scale(domain=order, range=["#ffa15a" if "coarse" in m else "#00cc96" for m in order]))
    bars = alt.Chart(means).mark_rule(strokeWidth=2).encode(x=x, y=alt.Y("low:Q", scale=alt.Scale(domain=domain)),
                                                             y2="high:Q", color=colour)
    diamonds = alt.Chart(means).mark_point(shape="diamond", size=170, filled=True, opacity=1, stroke="black",
                                           strokeWidth=1).encode(
        x=x, y=y, color=colour, tooltip=[alt.Tooltip("model:N"), alt.Tooltip("auc:Q", title="mean AUC", format=".4f"),
                                         alt.Tooltip("std:Q", title="std", format=".4f"), alt.Tooltip("seeds:Q")])
    seeds = alt.Chart(dots).mark_circle(size=50, color="black", opacity=0.55).encode(
        x=x, y=y, tooltip=[alt.Tooltip("seed:N"), alt.Tooltip("auc:Q", title="AUC", format=".4f")])
    return alt.layer(bars, diamonds, seeds).properties(
        title="Fine vs coarse: test AUC (diamond: mean ± std; dots: single seeds)", height=380)
