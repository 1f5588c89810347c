"""Pure geometry of face_detection: landmark mapping, similarity transform, NMS, confidence."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cl_server.plugins.face_detection.detector import (
    confidence_from_score,
    score_from_confidence,
)
from cl_server.plugins.face_detection.geometry import (
    ARCFACE_TEMPLATE,
    five_from_dlib,
    invert_affine,
    nms,
    similarity_transform,
)


def dlib_points_from(landmarks: np.ndarray) -> np.ndarray:
    """dlib's layout for a face whose true landmarks are ``landmarks`` (eye corners ±6 px)."""
    right_eye, left_eye, nose = landmarks[0], landmarks[1], landmarks[2]
    offset = np.array([6.0, 0.0])
    return np.stack(
        [left_eye + offset, left_eye - offset, right_eye - offset, right_eye + offset, nose]
    )


def test_dlib_points_map_to_arcface_order_and_estimate_the_mouth() -> None:
    five = five_from_dlib(dlib_points_from(ARCFACE_TEMPLATE))
    np.testing.assert_allclose(five[:3], ARCFACE_TEMPLATE[:3], atol=1e-9)
    # The mouth corners are estimated from the template's proportions: within a pixel of it.
    np.testing.assert_allclose(five[3:], ARCFACE_TEMPLATE[3:], atol=1.0)
    assert five[0][0] < five[1][0]  # right_eye (subject's right) is on the image's left


def test_mouth_estimate_follows_rotation_and_scale() -> None:
    angle = math.radians(35)
    rot = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    truth = ARCFACE_TEMPLATE @ (3.0 * rot).T + np.array([200.0, 50.0])
    five = five_from_dlib(dlib_points_from(truth))
    np.testing.assert_allclose(five[3:], truth[3:], atol=3.0)


def test_similarity_transform_recovers_a_known_transform() -> None:
    angle = math.radians(-20)
    matrix = np.array(
        [
            [1.7 * math.cos(angle), -1.7 * math.sin(angle), 12.0],
            [1.7 * math.sin(angle), 1.7 * math.cos(angle), -4.0],
        ]
    )
    src = np.array([[10.0, 20.0], [40.0, 22.0], [25.0, 40.0], [12.0, 60.0], [38.0, 61.0]])
    dst = src @ matrix[:, :2].T + matrix[:, 2]
    np.testing.assert_allclose(similarity_transform(src, dst), matrix, atol=1e-9)
    back = invert_affine(matrix)
    np.testing.assert_allclose(dst @ back[:, :2].T + back[:, 2], src, atol=1e-9)


def test_nms_drops_boxes_overlapping_more_than_the_threshold() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [5, 0, 15, 10], [50, 50, 60, 60]], float)
    scores = np.array([0.9, 0.95, 0.8, 0.5])
    # IoU(0,1) = 0.818, IoU(1,2) = 0.538, IoU(0,2) = 0.333
    assert nms(boxes, scores, 0.4) == [1, 3]
    assert nms(boxes, scores, 0.6) == [1, 2, 3]
    assert nms(boxes, scores, 1.0) == [1, 0, 2, 3]
    assert nms(boxes, scores, 0.0) == [1, 3]


def test_confidence_is_monotone_in_unit_range_with_dlibs_threshold_at_default() -> None:
    assert confidence_from_score(0.0) == pytest.approx(0.7)
    values = [confidence_from_score(s) for s in np.linspace(-3, 3, 25)]
    assert all(0.0 < v < 1.0 for v in values)
    assert values == sorted(values)
    for c in (0.1, 0.5, 0.7, 0.95):
        assert confidence_from_score(score_from_confidence(c)) == pytest.approx(c)
    assert math.isinf(score_from_confidence(1.0))
