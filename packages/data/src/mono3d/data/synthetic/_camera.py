"""The synthetic camera: a KITTI-like P2 (optionally jittered) and the other calib matrices."""

import numpy as np

from mono3d.kitti import KittiCalib

#: P2 of most KITTI training frames (the 375 × 1242 left colour camera)
KITTI_P2: np.ndarray = np.array(
    [
        [721.5377, 0.0, 609.5593, 44.85728],
        [0.0, 721.5377, 172.854, 0.2163791],
        [0.0, 0.0, 1.0, 0.002745884],
    ]
)
#: (height, width) of most KITTI images
KITTI_IMAGE_SIZE: tuple[int, int] = (375, 1242)

# fixed, plausible values for the matrices the detector never uses
_R0_RECT = np.eye(3)
_TR_VELO_TO_CAM = np.array([[0.0, -1.0, 0.0, 0.0], [0.0, 0.0, -1.0, -0.08], [1.0, 0.0, 0.0, -0.27]])
_TR_IMU_TO_VELO = np.array([[1.0, 0.0, 0.0, -0.81], [0.0, 1.0, 0.0, 0.32], [0.0, 0.0, 1.0, -0.8]])
_BASELINES = {"P0": 0.0, "P1": -0.537, "P3": 0.473}  # metres along x, like KITTI's rig


def synthetic_calib(
    rng: np.random.Generator | None, image_size: tuple[int, int] = KITTI_IMAGE_SIZE
) -> KittiCalib:
    """A KITTI-like calib for an image of ``image_size`` (h, w): KITTI's P2 with rows 0 and 1
    scaled by (w / 1242, h / 375); with ``rng`` the focal length is jittered by ±3 % and the
    principal point by (±8, ±4) KITTI pixels. P0, P1, P3 share P2's intrinsics with KITTI-like
    baselines; R0_rect is the identity."""
    p2 = KITTI_P2.copy()
    if rng is not None:
        focal = rng.uniform(0.97, 1.03)
        p2[0, 0] *= focal
        p2[1, 1] *= focal
        p2[0, 2] += rng.uniform(-8.0, 8.0)
        p2[1, 2] += rng.uniform(-4.0, 4.0)
    height, width = image_size
    scale = np.array([width / KITTI_IMAGE_SIZE[1], height / KITTI_IMAGE_SIZE[0], 1.0])
    p2 = p2 * scale[:, None]
    others = {}
    for key, baseline in _BASELINES.items():
        p = p2.copy()
        p[:, 3] = 0.0
        p[0, 3] = p2[0, 0] * baseline
        others[key] = p
    return KittiCalib(
        P2=p2,
        R0_rect=_R0_RECT,
        Tr_velo_to_cam=_TR_VELO_TO_CAM,
        Tr_imu_to_velo=_TR_IMU_TO_VELO,
        **others,
    )


def camera_centre(p2: np.ndarray) -> np.ndarray:
    """The camera centre C (3,) in the rectified frame: ``P2 @ [C; 1] = 0``."""
    return -np.linalg.solve(p2[:, :3], p2[:, 3])
