"""Face geometry: dlib's 5 points -> the 5 ArcFace landmarks, similarity transform, NMS.

dlib's 5-point model gives, in image coordinates, the two corners of the image-right eye
(points 0, 1), the two corners of the image-left eye (2, 3) and the base of the nose (4). ArcFace
wants eye centres, nose tip and mouth corners. Eye centres are the corner midpoints; the nose point
is dlib's nose base (the nearest point this model has to the tip); the mouth corners are not
measured by this model and are *estimated* from the eyes with the proportions of the ArcFace
template (mouth line 1.155 inter-ocular distances below the eye line, corners 0.41 to each side).

Names follow the subject's point of view: ``right_eye`` is the subject's right eye, which appears
on the image's left in a frontal photo (the order of the ArcFace template).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

LANDMARK_NAMES = ("right_eye", "left_eye", "nose_tip", "mouth_right", "mouth_left")

# insightface's ArcFace 112x112 template, same order as LANDMARK_NAMES.
ARCFACE_TEMPLATE: FloatArray = np.array(
    [
        [38.2946, 51.6963],
        [73.5318, 51.5014],
        [56.0252, 71.7366],
        [41.5493, 92.3655],
        [70.7299, 92.2041],
    ],
    dtype=np.float64,
)
ALIGNED_SIZE = 112

_EYE_DIST = float(np.linalg.norm(ARCFACE_TEMPLATE[1] - ARCFACE_TEMPLATE[0]))
_EYE_MID = (ARCFACE_TEMPLATE[0] + ARCFACE_TEMPLATE[1]) / 2
_MOUTH_MID = (ARCFACE_TEMPLATE[3] + ARCFACE_TEMPLATE[4]) / 2
MOUTH_DROP = float(_MOUTH_MID[1] - _EYE_MID[1]) / _EYE_DIST
MOUTH_HALF_WIDTH = float(ARCFACE_TEMPLATE[4][0] - ARCFACE_TEMPLATE[3][0]) / 2 / _EYE_DIST


def five_from_dlib(points: FloatArray) -> FloatArray:
    """``[5, 2]`` dlib points -> ``[5, 2]`` landmarks in ``LANDMARK_NAMES`` order (pixels)."""
    right_eye = (points[2] + points[3]) / 2  # image-left eye
    left_eye = (points[0] + points[1]) / 2  # image-right eye
    nose = points[4]
    across = left_eye - right_eye
    eye_dist = float(np.linalg.norm(across))
    if eye_dist == 0.0:
        return np.stack([right_eye, left_eye, nose, nose, nose])
    unit = across / eye_dist
    down = np.array([-unit[1], unit[0]])  # image y grows downwards: rotate +90 degrees
    if float(np.dot(nose - (right_eye + left_eye) / 2, down)) < 0:
        down = -down  # upside-down face: "down" is where the nose is
    mouth_mid = (right_eye + left_eye) / 2 + down * MOUTH_DROP * eye_dist
    mouth_right = mouth_mid - unit * MOUTH_HALF_WIDTH * eye_dist
    mouth_left = mouth_mid + unit * MOUTH_HALF_WIDTH * eye_dist
    return np.stack([right_eye, left_eye, nose, mouth_right, mouth_left])


def similarity_transform(src: FloatArray, dst: FloatArray) -> FloatArray:
    """Least-squares similarity (rotation, uniform scale, translation) mapping src onto dst.

    Umeyama (1991). Returns the 2x3 matrix ``M`` with ``dst ~ M @ [x, y, 1]``.
    """
    n = src.shape[0]
    src_mean = src.mean(axis=0)
    dst_mean = dst.mean(axis=0)
    src_c = src - src_mean
    dst_c = dst - dst_mean
    cov = dst_c.T @ src_c / n
    u, s, vt = np.linalg.svd(cov)
    d = np.ones(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        d[1] = -1.0
    rotation = u @ np.diag(d) @ vt
    var_src = float((src_c**2).sum() / n)
    scale = float((s * d).sum() / var_src) if var_src > 0 else 1.0
    translation = dst_mean - scale * rotation @ src_mean
    return np.hstack([scale * rotation, translation[:, None]])


def invert_affine(matrix: FloatArray) -> FloatArray:
    full = np.vstack([matrix, [0.0, 0.0, 1.0]])
    return np.linalg.inv(full)[:2]


def iou(box: FloatArray, others: FloatArray) -> FloatArray:
    """IoU of one ``[x1, y1, x2, y2]`` box against ``[K, 4]`` boxes."""
    x1 = np.maximum(box[0], others[:, 0])
    y1 = np.maximum(box[1], others[:, 1])
    x2 = np.minimum(box[2], others[:, 2])
    y2 = np.minimum(box[3], others[:, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (others[:, 2] - others[:, 0]) * (others[:, 3] - others[:, 1])
    union = area + areas - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)


def nms(boxes: FloatArray, scores: FloatArray, threshold: float) -> list[int]:
    """Indices kept by greedy non-maximum suppression, best score first.

    A box is dropped when its IoU with an already kept box is above ``threshold``.
    """
    order = [int(i) for i in np.argsort(-scores, kind="stable")]
    keep: list[int] = []
    for i in order:
        if keep and bool((iou(boxes[i], boxes[keep]) > threshold).any()):
            continue
        keep.append(i)
    return keep
