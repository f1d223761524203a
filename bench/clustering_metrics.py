"""Clustering quality against gold labels: BCubed precision, recall and F1, and NMI.

BCubed (Bagga & Baldwin 1998; Amigó et al. 2009, "A comparison of extrinsic clustering evaluation
metrics") scores each item: precision is the share of its predicted cluster that shares its gold
label, recall the share of its gold class that shares its predicted cluster; both are averaged
over items and F1 is their harmonic mean. NMI is scikit-learn's (arithmetic normalisation).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

__all__ = ["BCubed", "bcubed", "nmi"]


@dataclass(frozen=True)
class BCubed:
    """Item-averaged BCubed precision and recall, and their harmonic mean."""

    precision: float
    recall: float
    f1: float


def bcubed(gold: Sequence[Hashable], predicted: Sequence[Hashable]) -> BCubed:
    """BCubed of ``predicted`` cluster labels against ``gold`` labels (same order, same length)."""
    if len(gold) != len(predicted):
        raise ValueError("gold and predicted labels differ in length")
    if not gold:
        raise ValueError("no items")
    both = Counter(zip(gold, predicted, strict=True))
    gold_sizes, predicted_sizes = Counter(gold), Counter(predicted)
    # Each of the n items of a (gold, predicted) cell sees n correct items in its cluster and class.
    precision = sum(n * n / predicted_sizes[p] for (_, p), n in both.items()) / len(gold)
    recall = sum(n * n / gold_sizes[g] for (g, _), n in both.items()) / len(gold)
    return BCubed(precision, recall, 2 * precision * recall / (precision + recall))


def nmi(gold: Sequence[Hashable], predicted: Sequence[Hashable]) -> float:
    """Normalised mutual information (scikit-learn, arithmetic mean of the entropies)."""
    from sklearn.metrics import normalized_mutual_info_score

    return float(normalized_mutual_info_score(list(map(str, gold)), list(map(str, predicted))))
