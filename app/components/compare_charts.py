"""Charts of the Compare page (Plotly): ROC and precision–recall curves, the N_c ablation,
per-user differences and the classroom experiment's dot plot. Each takes finished-run tables or
prediction tables and returns a figure with its title, axis labels and units."""

from __future__ import annotations

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


def experiment_figure(res: pd.DataFrame) -> go.Figure:
    """Dot plot (the axis does not start at 0, so no bars): mean ± std per N_c, seeds as dots."""
    agg = aggregate_runs(res, ["nc"], ["auc"]).sort_values("nc", ascending=False)

    def name(nc) -> str:
        return f"N_c = {int(nc)} " + ("(coarse)" if int(nc) == 1 else "(FRAME)")

    fig = go.Figure()
    for _, a in agg.iterrows():
        color = "#ffa15a" if int(a["nc"]) == 1 else "#00cc96"
        seeds = res[res["nc"] == a["nc"]]
        fig.add_trace(go.Scatter(
            x=[name(a["nc"])] * len(seeds), y=seeds["auc"], mode="markers", showlegend=False,
            marker={"color": "rgba(0,0,0,0.55)", "size": 7}, customdata=seeds["seed"],
            hovertemplate="seed %{customdata}: AUC %{y:.4f}<extra></extra>",
        ))
        fig.add_trace(go.Scatter(
            x=[name(a["nc"])], y=[a["auc_mean"]], mode="markers", name=name(a["nc"]),
            marker={"color": color, "size": 18, "symbol": "diamond", "line": {"color": "black", "width": 1}},
            error_y={"type": "data", "array": [0 if pd.isna(a["auc_std"]) else a["auc_std"]], "thickness": 2,
                     "width": 12, "color": color},
            hovertemplate=f"mean AUC %{{y:.4f}} over {int(a['n'])} seed(s)<extra></extra>",
        ))
    vals = pd.to_numeric(res["auc"], errors="coerce").dropna()
    if len(vals):
        pad = max(0.02, float(vals.max() - vals.min()))
        fig.update_yaxes(range=[max(0.0, float(vals.min()) - pad), min(1.0, float(vals.max()) + pad)])
    fig.update_layout(title="Fine vs coarse: test AUC (diamond: mean ± std; dots: single seeds)",
                      xaxis_title="model", yaxis_title="test AUC (video level)", height=380, showlegend=False)
    return fig
