"""The lab's built-in models, one :class:`~sim.analytics.model_spec.ModelSpec` each.

Each spec is the model's one home outside its own module: the columns a
file needs and the checks on them, weights, transaction logs, the horizon,
the fit, the prediction columns and what its report adds.  The registry
(:mod:`sim.analytics.registry`) lists them in :data:`BUILT_IN`'s order,
which is the order ``ccsim fit --model`` offers them.

The model modules (scipy) are imported inside the functions, so listing the
models stays cheap.
"""

from __future__ import annotations

import math

import numpy as np

from .model_spec import Horizon, ModelSpec, PredictionTable, customer_predictions

__all__ = ["BGNBD", "PARETO_NBD", "GAMMA_GAMMA", "BGBB", "SBG", "RETENTION", "REFERRAL_NBD",
           "BUILT_IN",
           "CORRELATION_WARNING"]

#: Spend-frequency correlation beyond which Gamma-Gamma's independence
#: assumption is flagged.
CORRELATION_WARNING = 0.3
# Same round-off allowance as the models' own recency <= T check.
_RELATIVE_SLACK = 1e-12
_TRANSACTION_LOG = {"frequency": "frequency", "recency": "recency", "T": "T"}


# --- input checks ---------------------------------------------------------------------

def _check_recency_within_age(table, columns: dict[str, np.ndarray]) -> None:
    """Continuous time: t_x <= T, and t_x = 0 for a customer with no repeat purchase."""
    x, t_x, age = columns["frequency"], columns["recency"], columns["T"]
    table.first_bad(t_x > age * (1 + _RELATIVE_SLACK) + _RELATIVE_SLACK, "recency",
                    lambda row: f"recency {t_x[row]:g} exceeds T {age[row]:g}")
    table.first_bad((x == 0) & (t_x > 0), "recency",
                    lambda row: f"recency must be 0 where frequency is 0, got {t_x[row]:g}")


def _check_opportunities(table, columns: dict[str, np.ndarray]) -> None:
    """Discrete time: t_x <= n, x <= t_x, and t_x = 0 exactly where x = 0."""
    x, t_x, n = columns["frequency"], columns["recency"], columns["periods"]
    table.first_bad(t_x > n, "recency", lambda row: f"recency {t_x[row]:g} exceeds periods {n[row]:g}")
    table.first_bad(x > t_x, "frequency",
                    lambda row: f"frequency {x[row]:g} exceeds recency {t_x[row]:g} "
                                f"(x transactions need at least x opportunities)")
    table.first_bad((x == 0) != (t_x == 0), "recency",
                    lambda row: "recency must be 0 exactly where frequency is 0")


def _check_spend(table, columns: dict[str, np.ndarray]) -> None:
    x, spend = columns["frequency"], columns["monetary_value"]
    table.first_bad((x > 0) & (spend <= 0), "monetary_value",
                    lambda row: "must be > 0 where frequency > 0 (mean repeat spend, dollars)")


# --- fits -------------------------------------------------------------------------------

def _fit_bgnbd(data):
    from . import bgnbd

    c = data.columns
    return bgnbd.fit(c["frequency"], c["recency"], c["T"], c.get("weights"))


def _fit_pareto_nbd(data):
    from . import pareto_nbd

    c = data.columns
    return pareto_nbd.fit(c["frequency"], c["recency"], c["T"], c.get("weights"))


def _fit_bgbb(data):
    from . import bgbb

    c = data.columns
    return bgbb.fit(c["frequency"], c["recency"], c["periods"], c.get("weights"))


def _expanded_spend(data) -> tuple[np.ndarray, np.ndarray]:
    """Gamma-Gamma's (x, z̄) with weighted rows repeated (its fit takes no weights)."""
    x, zbar = data.columns["frequency"], data.columns["monetary_value"]
    weights = data.columns.get("weights")
    if weights is None:
        return x, zbar
    counts = weights.astype(int)
    return np.repeat(x, counts), np.repeat(zbar, counts)


def _fit_gamma_gamma(data):
    from . import gamma_gamma

    return gamma_gamma.fit(*_expanded_spend(data))


def _fit_sbg(data):
    from . import sbg

    return sbg.fit(data.columns["survivors"])


def _continuous_log_likelihood(module_name: str):
    """log_likelihood(params, data) of a (frequency, recency, T[, weights]) model."""
    def log_likelihood(params, data) -> float:
        import importlib

        c = data.columns
        module = importlib.import_module(module_name)
        return module.log_likelihood(params, c["frequency"], c["recency"], c["T"], c.get("weights"))
    return log_likelihood


def _bgbb_log_likelihood(params, data) -> float:
    from . import bgbb

    c = data.columns
    return bgbb.log_likelihood(params, c["frequency"], c["recency"], c["periods"], c.get("weights"))


def _gamma_gamma_log_likelihood(params, data) -> float:
    """Summed over repeat buyers, the customers Gamma-Gamma is fitted to."""
    from . import gamma_gamma

    x, zbar = _expanded_spend(data)
    repeat = x > 0
    return float(gamma_gamma.log_likelihood_terms(params, x[repeat], zbar[repeat]).sum())


def _sbg_log_likelihood(params, data) -> float:
    from . import sbg

    return float(sbg.log_likelihood(params, data.columns["survivors"]))


# --- predictions ------------------------------------------------------------------------

def _predict_bgnbd(data, fit, horizon, discount_rate) -> PredictionTable:
    from . import bgnbd

    c = data.columns
    history = (c["frequency"], c["recency"], c["T"])
    return customer_predictions(data, {
        "p_alive": bgnbd.p_alive(fit, *history),
        "expected_purchases": bgnbd.conditional_expected_purchases(fit, horizon, *history)})


def _predict_pareto_nbd(data, fit, horizon, discount_rate) -> PredictionTable:
    from . import pareto_nbd

    c = data.columns
    history = (c["frequency"], c["recency"], c["T"])
    predicted = {"p_alive": pareto_nbd.p_alive(fit, *history),
                 "expected_purchases": pareto_nbd.conditional_expected_purchases(fit, horizon,
                                                                                 *history)}
    if discount_rate is not None:
        predicted["dert"] = pareto_nbd.dert(fit, *history, discount_rate)
    return customer_predictions(data, predicted)


def _predict_bgbb(data, fit, horizon, discount_rate) -> PredictionTable:
    from . import bgbb

    c = data.columns
    history = (c["frequency"], c["recency"], c["periods"])
    return customer_predictions(data, {
        "p_alive": bgbb.p_alive(fit, *history),
        "expected_purchases": bgbb.conditional_expected_purchases(fit, int(horizon), *history)})


def _predict_gamma_gamma(data, fit, horizon, discount_rate) -> PredictionTable:
    from . import gamma_gamma

    c = data.columns
    return customer_predictions(data, {
        "expected_spend": gamma_gamma.expected_spend(fit, c["frequency"], c["monetary_value"])})


def _predict_sbg(data, fit, horizon, discount_rate) -> PredictionTable:
    """One row per period 0 .. last + horizon: observed and fitted survivors, retention."""
    from . import sbg

    horizon = int(horizon)
    observed = data.columns["survivors"]
    periods = np.arange(observed.size + horizon)
    fitted = observed[0] * sbg.survival(fit, periods)
    retention = [""] + list(sbg.retention_rate(fit, periods[1:]))
    header = ["period", "survivors", "fitted_survivors", "retention_rate"]
    columns = [periods, list(observed) + [""] * horizon, fitted, retention]
    if discount_rate is not None:
        header.append("derl")
        columns.append(sbg.discounted_expected_residual_lifetime(fit, periods + 1, discount_rate))
    return PredictionTable(header, [list(row) for row in zip(*columns)], first_prediction=2,
                           row_noun="period")


# --- Gamma-Gamma's report: mean spend and the independence check ----------------------

def _spend_extras(data, fit) -> dict[str, float]:
    from . import gamma_gamma

    x, zbar = _expanded_spend(data)
    return {"spend_frequency_correlation": gamma_gamma.spend_frequency_correlation(x, zbar),
            "mean_spend": gamma_gamma.mean_spend(fit),
            "observed_mean_spend": float(np.mean(zbar[x > 0]))}


def _spend_facts(extras: dict[str, float]) -> list[tuple[str, str]]:
    model_mean = extras["mean_spend"]
    correlation = extras["spend_frequency_correlation"]
    return [("mean spend",
             (f"${model_mean:,.2f}" if math.isfinite(model_mean) else "infinite (q <= 1)")
             + f" per purchase (model, p*gamma/(q-1)); repeat buyers' observed "
               f"${extras['observed_mean_spend']:,.2f}"),
            ("spend-frequency correlation",
             f"{correlation:.3f} (repeat buyers)" if math.isfinite(correlation)
             else "n/a (spend or frequency is constant)")]


def _spend_warnings(extras: dict[str, float]) -> list[str]:
    correlation = extras.get("spend_frequency_correlation", 0.0)
    if not abs(correlation) > CORRELATION_WARNING:
        return []
    return [f"warning: spend and frequency correlate ({correlation:.2f}, beyond "
            f"±{CORRELATION_WARNING}); Gamma-Gamma assumes they are independent, so do not "
            f"multiply its spend by a transaction model's counts without care"]


# --- the specs --------------------------------------------------------------------------

_PURCHASES_HELP = ("frequency, recency, T   (x repeat purchases, t_x, age;",
                   "recency and T in one time unit, e.g. weeks)")

BGNBD = ModelSpec(
    name="bgnbd", label="BG/NBD", module="sim.analytics.bgnbd",
    columns=("frequency", "recency", "T"),
    check_rows=_check_recency_within_age, from_log=_TRANSACTION_LOG,
    fit=_fit_bgnbd, log_likelihood=_continuous_log_likelihood("sim.analytics.bgnbd"),
    predict=_predict_bgnbd,
    help_input=_PURCHASES_HELP,
    help_predict=("p_alive, expected_purchases (in the next --horizon time units)",))

PARETO_NBD = ModelSpec(
    name="pareto_nbd", label="Pareto/NBD", module="sim.analytics.pareto_nbd",
    columns=("frequency", "recency", "T"),
    check_rows=_check_recency_within_age, from_log=_TRANSACTION_LOG, discounted="dert",
    fit=_fit_pareto_nbd, log_likelihood=_continuous_log_likelihood("sim.analytics.pareto_nbd"),
    predict=_predict_pareto_nbd,
    help_input=_PURCHASES_HELP,
    help_predict=("p_alive, expected_purchases, and with --discount-rate d also",
                  "dert (discounted expected residual transactions, at simple",
                  "rate d per time unit)"),
    game="shops")

GAMMA_GAMMA = ModelSpec(
    name="gamma_gamma", label="Gamma-Gamma", module="sim.analytics.gamma_gamma",
    columns=("frequency", "monetary_value"),
    check_rows=_check_spend,
    from_log={"frequency": "frequency", "monetary_value": "monetary_value"},
    counts_repeat_buyers=True, count_label="repeat buyers",
    horizon=None, no_horizon="expected spend per purchase has no time window",
    fit=_fit_gamma_gamma, log_likelihood=_gamma_gamma_log_likelihood,
    predict=_predict_gamma_gamma,
    extras=_spend_extras, facts=_spend_facts, warnings=_spend_warnings,
    help_input=("frequency, monetary_value   (mean repeat spend, dollars;",
                "rows with frequency 0 are left out of the fit)"),
    help_predict=("expected_spend (dollars per future purchase); no --horizon",),
    game="shops")

BGBB = ModelSpec(
    name="bgbb", label="BG/BB", module="sim.analytics.bgbb",
    columns=("frequency", "recency", "periods"),
    whole_columns=frozenset({"frequency", "periods", "recency"}),
    check_rows=_check_opportunities,
    from_log={"frequency": "frequency", "recency": "recency", "periods": "T"}, whole_times=True,
    horizon=Horizon(unit="opportunities", singular="opportunity", limit=10_000, whole=True),
    fit=_fit_bgbb, log_likelihood=_bgbb_log_likelihood, predict=_predict_bgbb,
    help_input=("frequency, recency, periods   (whole numbers; periods =",
                "opportunities n)"),
    help_predict=("p_alive (at the next opportunity), expected_purchases (in the",
                  "next --horizon opportunities)"))

SBG = ModelSpec(
    name="sbg", label="sBG", module="sim.analytics.sbg",
    columns=("period", "survivors"), kind="survivors",
    whole_columns=frozenset({"period", "survivors"}), weighted=False,
    count_label="cohort size",
    # The sbg prediction writes one row per period.
    horizon=Horizon(unit="periods", singular="period", limit=1000, whole=True),
    discounted="derl",
    fit=_fit_sbg, log_likelihood=_sbg_log_likelihood, predict=_predict_sbg,
    help_input=("period, survivors   (one cohort: periods 0, 1, 2, ... in",
                "order; survivors at period 0 is the cohort size)"),
    help_predict=("one row per period 0 .. last + --horizon: period, survivors",
                  "(observed; blank beyond the data), fitted_survivors,",
                  "retention_rate (blank at period 0), and with --discount-rate",
                  "d also derl: discounted expected residual lifetime, in",
                  "periods, of a subscriber still there at that period (next",
                  "renewal undiscounted)"))

#: The members' lab model (sim.analytics.retention): fitted to the game's
#: members by acquisition channel and tenure, which a CSV file does not carry.
RETENTION = ModelSpec(name="retention", label="latent-class retention",
                      module="sim.analytics.retention", game="members")



# --- the referral NBD: friends brought over the turns watched -------------------------

def _check_referral_exposure(table, columns: dict[str, np.ndarray]) -> None:
    """A customer watched for no time cannot have referred anyone yet."""
    x, t = columns["referrals"], columns["exposure"]
    table.first_bad((t == 0) & (x > 0), "referrals",
                    lambda row: f"{x[row]:g} referrals with exposure 0 (a customer watched for "
                                f"no time has referred no one yet)")


def _fit_referral_nbd(data):
    from . import referral_nbd

    c = data.columns
    return referral_nbd.fit(c["referrals"], c["exposure"], c.get("weights"))


def _referral_log_likelihood(params, data) -> float:
    from . import referral_nbd

    c = data.columns
    return referral_nbd.log_likelihood(params, c["referrals"], c["exposure"], c.get("weights"))


def _predict_referral_nbd(data, fit, horizon, discount_rate) -> PredictionTable:
    from . import referral_nbd

    c = data.columns
    rate = referral_nbd.expected_rate(fit, c["referrals"], c["exposure"])
    return customer_predictions(data, {"referral_rate": rate,
                                       "expected_referrals": rate * horizon})


REFERRAL_NBD = ModelSpec(
    name="referral_nbd", label="referral NBD", module="sim.analytics.referral_nbd",
    columns=("referrals", "exposure"), whole_columns=frozenset({"referrals"}),
    check_rows=_check_referral_exposure,
    from_log={"referrals": "referrals", "exposure": "exposure"},
    fit=_fit_referral_nbd, log_likelihood=_referral_log_likelihood,
    predict=_predict_referral_nbd,
    help_input=("referrals, exposure   (friends brought, time watched",
                "in turns; rows with exposure 0 are skipped)"),
    help_predict=("referral_rate (per time unit, posterior mean),",
                  "expected_referrals (in the next --horizon time units,",
                  "while a customer)"))

BUILT_IN = (BGNBD, PARETO_NBD, GAMMA_GAMMA, BGBB, SBG, RETENTION, REFERRAL_NBD)
