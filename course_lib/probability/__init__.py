r"""Chapter 03: probability and information, computed so that it never breaks.

Everything a classifier's output layer and loss rely on lives here: log-sum-exp, softmax
(with temperature), log-softmax and the softmax Jacobian; entropy, cross-entropy and KL
divergence; the likelihoods of the Bernoulli, categorical and Gaussian distributions and
their maximum-likelihood estimates; conditional probability and independence from a joint
table; Bayes' rule and the Beta-Bernoulli update of a coin's bias; the stationary distribution of a Markov chain; the uncertainty of an ensemble's
prediction.

One module per idea, each importing only those listed before it; every public name is
re-exported here (``from course_lib import probability as pr; pr.softmax(z)``):

- :mod:`~course_lib.probability.stable_softmax`: log-sum-exp, softmax, log-softmax, the
  softmax Jacobian, sigmoid
- :mod:`~course_lib.probability.information`: entropy, cross-entropy, KL divergence,
  cross-entropy from logits, categorical NLL, one-hot labels, ensemble uncertainty
- :mod:`~course_lib.probability.distributions`: expectation, variance, likelihoods and
  maximum-likelihood estimates
- :mod:`~course_lib.probability.conditional`: joint tables, marginals, conditionals,
  independence, mutual information
- :mod:`~course_lib.probability.bayes`: Bayes' rule, the Beta-Bernoulli model
- :mod:`~course_lib.probability.markov`: stationary distributions of Markov chains

Numerical conventions, shared by every function (``_numerics``):

- Work in float64. Exponentials only ever see non-positive numbers (subtract the maximum
  first), so nothing overflows, whatever the size of the logits.
- :math:`0 \log 0 = 0`: a term whose weight ``p`` is exactly 0 contributes exactly 0 (it
  is masked, never computed as ``0 * -inf = nan``).
- :math:`\log 0 = -\infty` is a legitimate answer, not an error: a model that gives
  probability 0 to what happened has infinite loss. Those logs (``np.errstate(divide="ignore")``)
  and underflow (``np.errstate(under="ignore")``: ``exp(-800)`` rounds to 0, a probability
  below 1e-308, which is the correctly rounded result) are the only floating-point events
  silenced; everything else would still raise under ``np.errstate(all="raise")``.
"""
from course_lib.probability.stable_softmax import log_softmax, logsumexp, sigmoid, softmax, softmax_jacobian
from course_lib.probability.information import (
    Uncertainty,
    categorical_nll,
    cross_entropy,
    cross_entropy_with_logits,
    entropy,
    kl_divergence,
    one_hot,
    predictive_uncertainty,
)
from course_lib.probability.distributions import (
    bernoulli_log_likelihood,
    bernoulli_mle,
    categorical_log_likelihood,
    categorical_mle,
    expectation,
    gaussian_log_likelihood,
    gaussian_mle,
    gaussian_pdf,
    variance,
)
from course_lib.probability.conditional import (
    Marginals,
    conditional,
    independence_gap,
    joint_table,
    marginals,
    mutual_information,
)
from course_lib.probability.bayes import (
    bayes_posterior,
    beta_cdf,
    beta_credible_interval,
    beta_mean,
    beta_pdf,
    beta_posterior,
    beta_ppf,
)
from course_lib.probability.markov import markov_propagate, stationary_distribution, stationary_power_iteration

__all__ = [
    "logsumexp", "softmax", "log_softmax", "softmax_jacobian", "sigmoid",
    "entropy", "cross_entropy", "kl_divergence", "cross_entropy_with_logits", "one_hot", "categorical_nll",
    "Uncertainty", "predictive_uncertainty",
    "expectation", "variance", "bernoulli_log_likelihood", "bernoulli_mle", "categorical_log_likelihood",
    "categorical_mle", "gaussian_pdf", "gaussian_log_likelihood", "gaussian_mle",
    "joint_table", "Marginals", "marginals", "conditional", "independence_gap", "mutual_information",
    "bayes_posterior", "beta_pdf", "beta_cdf", "beta_ppf", "beta_posterior", "beta_mean", "beta_credible_interval",
    "stationary_distribution", "markov_propagate", "stationary_power_iteration",
]
