"""Shared maximum-likelihood machinery for the analytics lab's models.

Every model here has strictly positive parameters, so the optimiser works on
their logarithms (no bounds to hit, better conditioning), while standard
errors come from the curvature of the log-likelihood in the *natural*
parameters, the scale the papers report them on.

Also here: input validation with :class:`DataError`, and a Gauss
hypergeometric function that falls back to Euler's transformation where
``scipy.special.hyp2f1`` gives up.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize, special, stats

from ..errors import DataError  # re-exported: the fit's input errors live here too
from ..errors import UnknownNameError
from ..unique import unique_rows

__all__ = [
    "DataError",
    "FitResult",
    "maximise_likelihood",
    "weighted_total",
    "weighted_total_and_gradient",
    "numerical_hessian",
    "hessian_from_gradient",
    "hyp2f1_stable",
    "param_values",
    "as_float_array",
    "compress_rows",
]



@dataclass(frozen=True)
class FitResult:
    """A maximum-likelihood fit.

    Attributes:
        params: Estimates on the natural scale, named as in the papers
            (``r``, ``alpha``, ``a``, ``b``, ...).
        standard_errors: Asymptotic standard errors (same keys), from the
            inverse Hessian of the negative log-likelihood at the optimum;
            NaN where the Hessian is not positive definite.
        log_likelihood: Maximised log-likelihood (natural log, summed over
            customers).
        n: Customers (sum of weights) or cohort size the fit used.
        converged: Whether the optimiser reported success.
    """

    params: dict[str, float]
    standard_errors: dict[str, float]
    log_likelihood: float
    n: int
    converged: bool
    covariance: np.ndarray = field(default=None, repr=False, compare=False)

    def confidence_interval(self, name: str, level: float = 0.95,
                            scale: str = "log") -> tuple[float, float]:
        """Asymptotic confidence interval for one parameter.

        Args:
            name: Parameter name, a key of ``params``.
            level: Coverage, in (0, 1).
            scale: ``"log"`` (default) builds the Wald interval for
                ln(parameter) by the delta method and maps it back, so it stays
                positive like the parameter; ``"natural"`` is the plain
                estimate ± z·SE.

        Returns:
            (lower, upper) on the natural scale; NaNs if the standard error
            is unavailable.
        """
        if name not in self.params:
            raise UnknownNameError(f"unknown parameter {name!r:.60}; have {sorted(self.params)}")
        if not 0.0 < level < 1.0:
            raise DataError(f"level must be in (0, 1), got {level!r:.40}")
        estimate = self.params[name]
        se = self.standard_errors[name]
        z = stats.norm.ppf(0.5 + level / 2.0)
        if scale == "natural":
            return estimate - z * se, estimate + z * se
        if scale == "log":
            # Capped so a parameter run off to a bound gives (0, inf), not an overflow.
            half_width = min(z * se / estimate, 700.0)
            return estimate * math.exp(-half_width), estimate * math.exp(half_width)
        raise DataError(f"scale must be 'log' or 'natural', got {scale!r:.40}")


def param_values(params: Mapping[str, float] | FitResult,
                 names: Sequence[str]) -> tuple[float, ...]:
    """The named parameters, from a dict or a :class:`FitResult`, as floats."""
    mapping = params.params if isinstance(params, FitResult) else params
    if not hasattr(mapping, "__contains__") or not hasattr(mapping, "__getitem__"):
        raise DataError(f"params: expected a mapping of {list(names)}, got "
                        f"{type(mapping).__name__}")
    missing = [name for name in names if name not in mapping]
    if missing:
        raise UnknownNameError(f"params lacks {missing}; expected {list(names)}")
    values = []
    for name in names:
        value = mapping[name]
        # Not checked for range: the optimiser itself passes overflowing values.
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
            raise DataError(f"params: {name} must be a number, got {value!r:.40}")
        values.append(float(value))
    return tuple(values)


# --- input validation -------------------------------------------------------

def as_float_array(values, name: str, *, allow_empty: bool = False) -> np.ndarray:
    """A 1-D float array, rejecting NaN/inf and negative values by name."""
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as error:
        raise DataError(f"{name} must be numeric: {error}") from None
    array = np.atleast_1d(array)
    if array.ndim != 1:
        raise DataError(f"{name} must be one-dimensional, got shape {array.shape}")
    if array.size == 0 and not allow_empty:
        raise DataError(f"{name} is empty: need at least one customer")
    if not np.all(np.isfinite(array)):
        raise DataError(f"{name} contains NaN or infinite values "
                        f"(first at index {int(np.flatnonzero(~np.isfinite(array))[0])})")
    if np.any(array < 0):
        raise DataError(f"{name} contains negative values "
                        f"(first at index {int(np.flatnonzero(array < 0)[0])})")
    return array


def check_same_length(**arrays: np.ndarray) -> None:
    """Raise DataError naming the arrays if their lengths differ."""
    lengths = {name: len(array) for name, array in arrays.items()}
    if len(set(lengths.values())) > 1:
        described = ", ".join(f"{name}={length}" for name, length in lengths.items())
        raise DataError(f"mismatched lengths: {described}")


def check_integer(array: np.ndarray, name: str) -> None:
    """Raise DataError if a count array holds non-integers."""
    if np.any(array != np.round(array)):
        raise DataError(f"{name} must hold whole numbers (counts)")


def validate_weights(weights, length: int) -> np.ndarray:
    """Integer row weights (counts of identical customers); ones if None."""
    if weights is None:
        return np.ones(length)
    weights = as_float_array(weights, "weights")
    check_same_length(weights=weights, rows=np.empty(length))
    check_integer(weights, "weights")
    if weights.sum() <= 0:
        raise DataError("weights sum to zero: no customers to fit")
    return weights


def validate_frequency_recency_age(frequency, recency, T, weights=None
                                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Validate a continuous-time (x, t_x, T) summary and its weights.

    Rules: same length, finite, non-negative; frequency whole; recency ≤ T;
    recency 0 where frequency is 0 (recency is the time of the last *repeat*
    purchase after the first, so it is 0 without repeats).
    """
    x = as_float_array(frequency, "frequency")
    t_x = as_float_array(recency, "recency")
    age = as_float_array(T, "T")
    if age.size == 1 and x.size > 1:
        age = np.full(x.size, age[0])
    check_same_length(frequency=x, recency=t_x, T=age)
    check_integer(x, "frequency")
    # Allow float round-off from upstream unit conversion.
    too_late = t_x > age * (1 + 1e-12) + 1e-12
    if np.any(too_late):
        index = int(np.flatnonzero(too_late)[0])
        raise DataError(f"recency exceeds T at index {index} "
                        f"(recency={t_x[index]}, T={age[index]})")
    no_repeat_but_recency = (x == 0) & (t_x > 0)
    if np.any(no_repeat_but_recency):
        index = int(np.flatnonzero(no_repeat_but_recency)[0])
        raise DataError(f"recency must be 0 where frequency is 0 (index {index} "
                        f"has recency={t_x[index]})")
    return x, np.minimum(t_x, age), age, validate_weights(weights, x.size)


def compress_rows(frequency, recency, T, weights=None
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Merge identical (x, t_x, T) rows, adding up their weights.

    Big customer bases repeat the same summaries many times (every x = 0
    customer of one cohort is identical), so this cuts likelihood work.

    Returns:
        (frequency, recency, T, weights) of the distinct rows.
    """
    return merge_identical_rows(*validate_frequency_recency_age(frequency, recency, T, weights))


def merge_identical_rows(first: np.ndarray, second: np.ndarray, third: np.ndarray,
                         weights: np.ndarray
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Distinct (first, second, third) rows of validated arrays, weights summed."""
    rows = np.column_stack([first, second, third])
    distinct, inverse = unique_rows(rows)
    summed = np.bincount(inverse, weights=weights, minlength=len(distinct))
    keep = summed > 0
    distinct = distinct[keep]
    return distinct[:, 0], distinct[:, 1], distinct[:, 2], summed[keep]


def require_some_repeaters(frequency: np.ndarray, weights: np.ndarray) -> None:
    """Fitting needs at least one repeat purchase to identify the rates."""
    if not np.any((frequency > 0) & (weights > 0)):
        raise DataError("frequency is zero for every customer: nothing to fit")


# --- optimisation -------------------------------------------------------------

Gradient = Callable[[np.ndarray], tuple[float, np.ndarray]]


def weighted_total(terms: Callable[..., np.ndarray], names: Sequence[str],
                   weights: np.ndarray, *data: np.ndarray) -> Callable[[np.ndarray], float]:
    """Total ln L over summary rows, each counted ``weights`` times.

    Args:
        terms: ``terms(params, *data)``, ln L per row for a params mapping.
        names: Parameter names, in the order of the optimiser's vector.
        weights: Count of customers each row stands for.
        *data: Per-row arrays passed on to ``terms``.

    Returns:
        The objective ``maximise_likelihood`` takes, over natural parameters.
    """
    def total(theta: np.ndarray) -> float:
        return float(np.dot(weights, terms(dict(zip(names, theta)), *data)))
    return total


def weighted_total_and_gradient(terms_and_gradient: Callable[..., tuple[np.ndarray, np.ndarray]],
                                weights: np.ndarray, *data: np.ndarray) -> Gradient:
    """Total ln L and its gradient over summary rows, each counted ``weights`` times.

    Args:
        terms_and_gradient: ``f(theta, *data)`` giving ln L per row and its
            gradient, shape (parameters, rows).
        weights: Count of customers each row stands for.
        *data: Per-row arrays passed on to ``terms_and_gradient``.

    Returns:
        The ``gradient`` argument ``maximise_likelihood`` takes.
    """
    def total_and_gradient(theta: np.ndarray) -> tuple[float, np.ndarray]:
        terms, gradient = terms_and_gradient(theta, *data)
        return float(np.dot(weights, terms)), gradient @ weights
    return total_and_gradient


def maximise_likelihood(log_likelihood: Callable[[np.ndarray], float],
                        names: Sequence[str],
                        start: Sequence[float],
                        n: int,
                        gradient: Gradient | None = None,
                        standard_errors: bool = True,
                        coordinates: np.ndarray | None = None) -> FitResult:
    """Maximise a log-likelihood over positive parameters.

    Args:
        log_likelihood: Total log-likelihood as a function of the natural
            parameters (a 1-D array ordered like ``names``); may return NaN or
            -inf where the parameters are unreasonable.
        names: Parameter names, as the papers write them.
        start: Natural-scale starting values (all > 0).
        n: Customers (or cohort size) the likelihood sums over.
        gradient: Optional analytic (log-likelihood, gradient in the natural
            parameters). With it the optimiser needs one evaluation per step
            instead of a finite-difference stencil, and the Hessian is the
            central difference of the gradient.
        standard_errors: False skips the Hessian (errors NaN), e.g. for a
            fit that only provides starting values.
        coordinates: Optional invertible matrix M with ln θ = M u: the
            optimiser searches over u. A model whose likelihood has a flat
            ridge along a known direction (Pareto/NBD: s and β growing
            together at a fixed s/β) gets it along one axis, where the
            search runs to the bound in a few steps instead of zig-zagging.
            Identity by default.

    Returns:
        The fit, with standard errors from a central-difference Hessian in
        the natural parameters.
    """
    scale = max(float(n), 1.0)

    matrix = np.eye(len(names)) if coordinates is None else np.asarray(coordinates, dtype=float)

    def natural(u: np.ndarray) -> np.ndarray:
        return np.exp(matrix @ u)

    def objective(u: np.ndarray) -> float:
        # Divide by n so the optimiser's tolerances mean the same at any size.
        with np.errstate(all="ignore"):
            value = -log_likelihood(natural(u)) / scale
        return float(value) if np.isfinite(value) else 1e100

    def objective_and_slope(u: np.ndarray) -> tuple[float, np.ndarray]:
        params = natural(u)
        with np.errstate(all="ignore"):
            value, slope = gradient(params)
        if not (np.isfinite(value) and np.all(np.isfinite(slope))):
            return 1e100, np.zeros_like(u)
        # d/d(ln θ) = θ d/dθ, then the chain rule through ln θ = M u.
        return -float(value) / scale, -matrix.T @ (np.asarray(slope) * params) / scale

    start_log = np.linalg.solve(matrix, np.log(np.asarray(start, dtype=float)))
    # Bounds keep exp() finite and stop the search wandering off to ±inf.
    bounds = [(-12.0, 12.0)] * len(start_log)
    if gradient is None:
        result = optimize.minimize(objective, start_log, method="L-BFGS-B", jac="3-point",
                                   bounds=bounds, options={"ftol": 1e-13, "gtol": 1e-9,
                                                           "maxiter": 2000, "maxfun": 150})
    else:
        result = _gradient_search(objective_and_slope, start_log, bounds)
    if not (result.success and np.isfinite(result.fun) and result.fun < 1e99):
        # Line searches can fail on flat or kinked surfaces; the simplex cannot.
        # Capped: on a flat ridge (e.g. no dropout heterogeneity, s and beta
        # growing together) it would otherwise wander for minutes.
        polish_from = result.x if np.isfinite(result.fun) and result.fun < 1e99 else start_log
        result = optimize.minimize(objective, polish_from, method="Nelder-Mead", bounds=bounds,
                                   options={"xatol": 1e-9, "fatol": 1e-13,
                                            "maxiter": 600, "maxfev": 600})
    estimates = natural(result.x)
    total = float(log_likelihood(estimates))
    if not standard_errors:
        hessian = np.full((len(names), len(names)), np.nan)
    elif gradient is None:
        hessian = numerical_hessian(lambda theta: -log_likelihood(theta), estimates)
    else:
        hessian = hessian_from_gradient(lambda theta: -gradient(theta)[1], estimates)
    covariance = inverse_if_positive_definite(hessian)
    errors = np.sqrt(np.diag(covariance)) if covariance is not None else np.full(len(names), np.nan)
    return FitResult(
        params={name: float(value) for name, value in zip(names, estimates)},
        standard_errors={name: float(value) for name, value in zip(names, errors)},
        log_likelihood=total,
        n=int(n),
        converged=bool(result.success) and bool(np.isfinite(total)),
        covariance=covariance,
    )


def _gradient_search(objective_and_slope, start: np.ndarray, bounds) -> optimize.OptimizeResult:
    """L-BFGS-B with an analytic gradient, restarted once if its line search fails.

    A failed line search (flat ridge, a parameter pinned at its bound) is
    accepted as converged when the projected gradient is zero to round-off:
    no feasible direction improves the likelihood.
    """
    options = {"ftol": 1e-13, "gtol": 1e-9, "maxiter": 500, "maxfun": 300}
    result = optimize.minimize(objective_and_slope, start, method="L-BFGS-B", jac=True,
                               bounds=bounds, options=options)
    if result.success or not (np.isfinite(result.fun) and result.fun < 1e99):
        return result
    result = optimize.minimize(objective_and_slope, result.x, method="L-BFGS-B", jac=True,
                               bounds=bounds, options=options)
    if not result.success:
        _, slope = objective_and_slope(result.x)
        low, high = np.array(bounds).T
        # Components pushing against an active bound do not count.
        free = ~(((result.x <= low) & (slope > 0)) | ((result.x >= high) & (slope < 0)))
        result.success = bool(np.max(np.abs(slope[free]), initial=0.0) < _STATIONARY_SLOPE)
    return result


#: Largest per-customer slope in log parameters treated as zero. Near a
#: ridge the quadrature gradients carry round-off of ~1e-6; with curvatures
#: of order 0.1 per customer this still pins the parameters to ~1e-4.
_STATIONARY_SLOPE = 1e-5


def numerical_hessian(function: Callable[[np.ndarray], float], point: np.ndarray,
                      relative_step: float = 1e-3) -> np.ndarray:
    """Hessian by central finite differences, each step scaled to its parameter.

    The textbook step for second differences is eps^(1/4) ≈ 1e-4, but the
    likelihoods here carry special-function round-off well above eps, and
    on CDNOW standard errors agree to ~1e-5 between steps 1e-3 and 1e-4 and
    degrade at 1e-5, so we take the larger step.
    """
    point = np.asarray(point, dtype=float)
    size = point.size
    steps = relative_step * np.maximum(np.abs(point), 1e-8)
    centre = function(point)

    def at(*moves: tuple[int, float]) -> float:
        shifted = point.copy()
        for index, sign in moves:
            shifted[index] += sign * steps[index]
        return function(shifted)

    hessian = np.empty((size, size))
    for i in range(size):
        hessian[i, i] = (at((i, 1)) - 2.0 * centre + at((i, -1))) / steps[i] ** 2
        for j in range(i):
            mixed = (at((i, 1), (j, 1)) - at((i, 1), (j, -1))
                     - at((i, -1), (j, 1)) + at((i, -1), (j, -1))) / (4.0 * steps[i] * steps[j])
            hessian[i, j] = hessian[j, i] = mixed
    return hessian


def hessian_from_gradient(gradient: Callable[[np.ndarray], np.ndarray], point: np.ndarray,
                          relative_step: float = 1e-4,
                          absolute_step: float | None = None) -> np.ndarray:
    """Hessian as the central difference of an analytic gradient, symmetrised.

    One order of differencing fewer than :func:`numerical_hessian`, so a
    smaller step keeps the truncation error down without round-off taking over.
    ``absolute_step``, when given, is the same step for every coordinate
    (for log-scale parameters, where a value near 0 would get no relative step).
    """
    point = np.asarray(point, dtype=float)
    if absolute_step is not None:
        steps = np.full(point.size, float(absolute_step))
    else:
        steps = relative_step * np.maximum(np.abs(point), 1e-8)
    columns = []
    for index, step in enumerate(steps):
        up, down = point.copy(), point.copy()
        up[index] += step
        down[index] -= step
        columns.append((np.asarray(gradient(up)) - np.asarray(gradient(down))) / (2.0 * step))
    hessian = np.column_stack(columns)
    return 0.5 * (hessian + hessian.T)


def inverse_if_positive_definite(matrix: np.ndarray) -> np.ndarray | None:
    """The inverse of ``matrix`` (a Hessian), or None unless it is finite and positive definite."""
    if not np.all(np.isfinite(matrix)):
        return None
    try:
        np.linalg.cholesky(matrix)
    except np.linalg.LinAlgError:
        return None
    return np.linalg.inv(matrix)


# --- special functions ------------------------------------------------------

def hyp2f1_stable(a, b, c, z) -> np.ndarray:
    """Gauss ₂F₁(a, b; c; z) for z < 1, with Euler's transformation as fallback.

    Euler: ₂F₁(a, b; c; z) = (1 − z)^(c−a−b) ₂F₁(c−a, c−b; c; z). Where
    c − a − b < 0 the original series blows up near z = 1 while the
    transformed one stays bounded, which is where scipy can return inf/NaN.
    """
    a, b, c, z = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (a, b, c, z)))
    with np.errstate(all="ignore"):
        direct = special.hyp2f1(a, b, c, z)
        bad = ~np.isfinite(direct)
        if np.any(bad):
            transformed = (np.exp((c - a - b) * np.log1p(-z))
                           * special.hyp2f1(c - a, c - b, c, z))
            direct = np.where(bad, transformed, direct)
    return direct
