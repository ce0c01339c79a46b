"""Simulated A/B tests of recommenders on a synthetic world whose users we know, and the replay
estimator for real logs without one (docs/design.md §10).

**World simulation** (:func:`run_simulation`): every *arm* (a finished run, or one of the
reference arms ``random``, ``popularity`` and ``oracle``) serves every user of the world the
top-K videos they have not viewed yet, ranked by the arm's scores. Each served video is played
with the world's own viewing process, :func:`frame_core.synth.viewing.view_outcomes`, the code
that generated the log. The hidden state it needs (per-user, per-theme leave logits, bounce and
loop propensities) is rebuilt from the seed in ``world.json`` with the generator's own
functions and checked against the rest of ``world.json``.

- **Common random numbers** (:mod:`frame_core.simulate.crn`): the random inputs of a view are a
  function of (simulation seed, user, video) only, so two arms that serve the same video to the
  same user get the same outcome, and differences between arms are not noise of the draw.
- **Rounds**: with ``rounds > 1`` the views an arm served are appended to that arm's log
  (always as training rows) and each run arm is **refit** from its run's configuration on that
  log, within a wall-time budget per refit (``FrameConfig.time_budget_s``), before the next
  round. Refitting (not fine-tuning) keeps the run contract: each refit is an ordinary run.
- **Intervals** (:mod:`frame_core.simulate.bootstrap`): 95 % percentile bootstrap over users,
  paired across arms (the same resampled users for every arm).

**Replay** (:func:`run_replay`, Li et al., WSDM 2011): for a log without a world, each arm ranks
the videos a user did not view before the test period; only the served videos the user actually
viewed in the test period are kept ("matches"), and their full-view rate is the estimate.
"""

from frame_core.simulate.experiment import run_simulation
from frame_core.simulate.replay import run_replay
from frame_core.simulate.world_state import SimWorld, load_sim_world

__all__ = ["SimWorld", "load_sim_world", "run_replay", "run_simulation"]
