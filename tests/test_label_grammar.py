"""Section-label grammar (pure numpy, hand-made probabilities)."""

from __future__ import annotations

import numpy as np

from djstruct.postprocess.labels import grammar_labels, labels_from_probs
from djstruct.types import SECTION_LABELS


def _p(*rows: dict[str, float]) -> np.ndarray:
    out = np.full((len(rows), len(SECTION_LABELS)), 0.01)
    for i, r in enumerate(rows):
        for lab, v in r.items():
            out[i, SECTION_LABELS.index(lab)] = v
    return out / out.sum(axis=1, keepdims=True)


def test_mid_track_outro_becomes_the_next_best_label() -> None:
    p = _p({"intro": 0.9}, {"drop": 0.9}, {"outro": 0.5, "breakdown": 0.4}, {"drop": 0.9}, {"outro": 0.9})
    assert grammar_labels(p) == ["intro", "drop", "breakdown", "drop", "outro"]
    assert [SECTION_LABELS[i] for i in p.argmax(axis=1)][2] == "outro"  # what argmax alone would say


def test_intro_after_a_drop_is_refused() -> None:
    p = _p({"intro": 0.9}, {"drop": 0.9}, {"intro": 0.6, "breakdown": 0.3}, {"drop": 0.9})
    assert grammar_labels(p, ends=False) == ["intro", "drop", "breakdown", "drop"]


def test_valid_sequences_are_kept() -> None:
    p = _p({"intro": 0.8}, {"intro": 0.7}, {"buildup": 0.8}, {"drop": 0.9}, {"outro": 0.8}, {"outro": 0.9})
    assert grammar_labels(p) == ["intro", "intro", "buildup", "drop", "outro", "outro"]
    assert grammar_labels(p[:0]) == []


def test_a_confident_outro_ends_the_track_even_when_a_weak_drop_follows() -> None:
    # one weak "drop" after a strong outro: cheaper to call it outro than to undo the outro
    p = _p({"drop": 0.9}, {"outro": 0.95}, {"drop": 0.4, "outro": 0.35})
    assert grammar_labels(p, ends=False) == ["drop", "outro", "outro"]


def test_labels_from_probs_frames_to_sections() -> None:
    fps = 10.0
    frames = np.zeros((100, 5))
    frames[:50, SECTION_LABELS.index("drop")] = 1.0
    frames[50:70, SECTION_LABELS.index("outro")] = 0.6
    frames[50:70, SECTION_LABELS.index("breakdown")] = 0.4
    frames[70:, SECTION_LABELS.index("drop")] = 1.0
    bounds = np.array([0.0, 5.0, 7.0, 10.0])
    assert labels_from_probs(frames, fps, bounds) == ["drop", "outro", "drop"]
    assert labels_from_probs(frames, fps, bounds, grammar=True, ends=False) == ["drop", "breakdown", "drop"]
    assert labels_from_probs(frames, fps, bounds, grammar=True) == ["intro", "outro", "outro"]


def test_a_buildup_leads_into_a_drop() -> None:
    # a "buildup" before a breakdown, and one over the fade at the end, are not buildups
    p = _p({"intro": 0.9}, {"buildup": 0.5, "breakdown": 0.4}, {"breakdown": 0.9}, {"buildup": 0.8},
           {"drop": 0.9}, {"buildup": 0.6, "breakdown": 0.3})
    assert grammar_labels(p, ends=False) == ["intro", "breakdown", "breakdown", "buildup", "drop", "breakdown"]
    assert grammar_labels(_p({"buildup": 0.9})) != ["buildup"]  # a track is not one unresolved buildup


def test_a_track_opens_on_its_intro_and_ends_on_its_outro() -> None:
    p = _p({"breakdown": 0.6, "intro": 0.3}, {"buildup": 0.8}, {"drop": 0.9}, {"breakdown": 0.7, "outro": 0.2})
    assert grammar_labels(p) == ["intro", "buildup", "drop", "outro"]
    assert grammar_labels(p, ends=False) == ["breakdown", "buildup", "drop", "breakdown"]
    two = _p({"drop": 0.9}, {"breakdown": 0.9})
    assert grammar_labels(two) == ["drop", "breakdown"]  # under three sections: no ends forced
