"""Rasterise a ground plane, a sky and shaded cuboids with PIL polygons (no per-pixel Python).

Painter's algorithm: cuboids are drawn far to near, each as its camera-facing faces (a convex
solid's front faces never overlap each other), so nearer objects really hide farther ones.
Alongside the colour image an id buffer records which object owns each pixel; comparing an
object's pixels there with its own silhouette (drawn alone) gives how much of it is visible.

Pixel convention: continuous, pixel i covers [i, i + 1]. PIL fills the pixels floor(x_min)
to floor(x_max) (inclusive, likewise in y) of a polygon, i.e. the continuous polygon plus
on average half a pixel on every side, so projected points are drawn unshifted: the
rasterisation is centred on the geometry and a mirrored scene renders as the mirrored image.
"""

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from ._camera import camera_centre
from ._classes import BACK_TINT, FRONT_TINT

#: corner sign patterns, the geometry package's order: bottom face 0-3, top face 4-7,
#: corner k + 4 above corner k; (length, width) signs (+,+), (+,-), (-,-), (-,+)
_SX = np.array([1, 1, -1, -1, 1, 1, -1, -1], dtype=np.float64)
_SY = np.array([0, 0, 0, 0, 1, 1, 1, 1], dtype=np.float64)
_SZ = np.array([1, -1, -1, 1, 1, -1, -1, 1], dtype=np.float64)
#: faces as corner indices: front (+length), back, right side (-width), left side (+width),
#: top, bottom
FACES = np.array(
    [[0, 1, 5, 4], [2, 3, 7, 6], [1, 2, 6, 5], [3, 0, 4, 7], [4, 5, 6, 7], [0, 1, 2, 3]]
)
FRONT, BACK = 0, 1
#: direction the light travels (from above, a little from the left and behind the camera)
_LIGHT = np.array([0.35, 1.0, 0.45]) / np.linalg.norm([0.35, 1.0, 0.45])
#: a face is drawn only if all its corners are at least this far in front (P2 depth, metres)
NEAR = 0.1


def cuboid_corners(boxes: np.ndarray, rotation_y: np.ndarray) -> np.ndarray:
    """(n, 8, 3) corners of (n, 6) boxes (x, y, z, h, w, l) with yaw (n,), metres; the same
    formula and order as ``mono3d.geometry.box3d_corners``."""
    x, y, z, h, w, length = (boxes[:, i : i + 1] for i in range(6))
    cos, sin = np.cos(rotation_y)[:, None], np.sin(rotation_y)[:, None]
    along, across = _SX * (0.5 * length), _SZ * (0.5 * w)
    return np.stack(
        [x + cos * along + sin * across, y - _SY * h, z - sin * along + cos * across], axis=-1
    )


def _face_normals(rotation_y: np.ndarray) -> np.ndarray:
    """(n, 6, 3) outward unit normals of the faces in :data:`FACES` order."""
    cos, sin = np.cos(rotation_y), np.sin(rotation_y)
    zero, one = np.zeros_like(cos), np.ones_like(cos)
    length_axis = np.stack([cos, zero, -sin], axis=-1)
    width_axis = np.stack([sin, zero, cos], axis=-1)
    up = np.stack([zero, -one, zero], axis=-1)
    return np.stack([length_axis, -length_axis, -width_axis, width_axis, up, -up], axis=1)


def project(p2: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(uv (..., 2), depth (...)) of points (..., 3) with the full 3×4 P2."""
    hom = points @ p2[:, :3].T + p2[:, 3]
    depth = hom[..., 2]
    safe = np.where(depth > NEAR, depth, NEAR)
    return hom[..., :2] / safe[..., None], depth


def draw_background(
    p2: np.ndarray,
    image_size: tuple[int, int],
    camera_height: float,
    lanes: np.ndarray,
) -> Image.Image:
    """Sky gradient above the horizon, road fading into haze below it, and lane markings at
    the lateral offsets ``lanes`` (metres) on the ground plane y = camera_height."""
    height, width = image_size
    horizon = p2[1, 2] / p2[2, 2]  # image row of points at infinity along z
    rows = np.arange(height, dtype=np.float64) + 0.5
    below = rows - horizon
    depth = p2[1, 1] * camera_height / np.maximum(below, 1e-3)
    haze = 1.0 - np.exp(-depth / 90.0)
    road = (1.0 - haze)[:, None] * np.array([78.0, 80.0, 86.0]) + haze[:, None] * np.array(
        [172.0, 178.0, 186.0]
    )
    up = np.clip(-below / max(horizon, 1.0), 0.0, 1.0)
    sky = (1.0 - up)[:, None] * np.array([196.0, 212.0, 232.0]) + up[:, None] * np.array(
        [70.0, 118.0, 196.0]
    )
    colours = np.where((below > 0)[:, None], road, sky).round().astype(np.uint8)
    canvas = Image.fromarray(colours[:, None, :]).resize((width, height), Image.Resampling.NEAREST)
    if len(lanes):
        draw = ImageDraw.Draw(canvas)
        near, far = 3.0, 120.0
        for x in lanes:
            quad = np.array(
                [[x - 0.08, camera_height, near], [x + 0.08, camera_height, near],
                 [x + 0.08, camera_height, far], [x - 0.08, camera_height, far]]
            )  # fmt: skip
            uv, _ = project(p2, quad)
            draw.polygon([tuple(p) for p in uv.tolist()], fill=(205, 205, 195))
    return canvas


@dataclass(frozen=True, eq=False)
class Rendering:
    """What :func:`render_cuboids` drew, per object (n rows, in input order).

    image: (h, w, 3) uint8 RGB. drawable: every corner in front of the camera (others are
    not drawn). box: (x1, y1, x2, y2) of the projected corners, not clipped (NaN where not
    drawable). visible_pixels: pixels the object owns in the final image. silhouette_pixels:
    pixels inside the image it would cover alone.
    """

    image: np.ndarray
    drawable: np.ndarray
    box: np.ndarray
    visible_pixels: np.ndarray
    silhouette_pixels: np.ndarray


def _face_colours(colours: np.ndarray, normals: np.ndarray) -> np.ndarray:
    """(n, 6, 3) uint8 face colours: Lambert-shaded base colour, the front face blended
    towards a light tint and the back face towards a dark red, so the heading shows."""
    lambert = np.clip(-(normals @ _LIGHT), 0.0, 1.0)
    shaded = colours[:, None, :].astype(np.float64) * (0.45 + 0.55 * lambert)[..., None]
    shaded[:, FRONT] = 0.4 * shaded[:, FRONT] + 0.6 * np.array(FRONT_TINT)
    shaded[:, BACK] = 0.45 * shaded[:, BACK] + 0.55 * np.array(BACK_TINT)
    return np.clip(shaded.round(), 0, 255).astype(np.uint8)


def render_cuboids(
    p2: np.ndarray,
    image_size: tuple[int, int],
    boxes: np.ndarray,
    rotation_y: np.ndarray,
    colours: np.ndarray,
    *,
    camera_height: float,
    lanes: np.ndarray,
) -> Rendering:
    """Draw the scene: background, then the (n, 6) boxes with yaw (n,) and base colours
    (n, 3) far to near (distance of their centres from the camera centre)."""
    height, width = image_size
    n = len(boxes)
    canvas = draw_background(p2, image_size, camera_height, lanes)
    corners = cuboid_corners(boxes, rotation_y)
    uv, depth = project(p2, corners)
    drawable: np.ndarray = np.asarray((depth > NEAR).all(axis=1) if n else np.zeros(0, bool))
    box = np.concatenate([uv.min(axis=1), uv.max(axis=1)], axis=1) if n else np.zeros((0, 4))
    box[~drawable] = np.nan
    centre = camera_centre(p2)
    normals = _face_normals(rotation_y)
    face_centres = corners[:, FACES].mean(axis=2)
    facing = np.einsum("nfk,nfk->nf", normals, centre - face_centres) > 1e-9
    face_colours = _face_colours(colours, normals)
    order = np.argsort(-np.linalg.norm(corners.mean(axis=1) - centre, axis=1), kind="stable")
    draw = ImageDraw.Draw(canvas)
    ids = Image.new("L" if n < 255 else "I", (width, height), 0)
    draw_ids = ImageDraw.Draw(ids)
    polygons: list[list[list[tuple[float, float]]]] = [[] for _ in range(n)]
    for index in order.tolist():
        if not drawable[index]:
            continue
        for face in np.flatnonzero(facing[index]).tolist():
            points = [tuple(p) for p in uv[index, FACES[face]].tolist()]
            polygons[index].append(points)
            draw.polygon(points, fill=tuple(face_colours[index, face].tolist()))
            draw_ids.polygon(points, fill=index + 1)
    visible = np.zeros(n, dtype=np.int64)
    if n < 255:  # one C pass over the id buffer counts every object's pixels
        visible[:] = ids.histogram()[1 : n + 1]
    else:
        visible[:] = np.bincount(np.asarray(ids).ravel(), minlength=n + 1)[1 : n + 1]
    silhouette = np.zeros(n, dtype=np.int64)
    for index in range(n):
        if not polygons[index]:
            continue
        # PIL's fill may spill a pixel past the exact outline: look 2 px around the box
        x0 = max(0, int(np.floor(box[index, 0])) - 2)
        y0 = max(0, int(np.floor(box[index, 1])) - 2)
        x1 = min(width, int(np.ceil(box[index, 2])) + 2)
        y1 = min(height, int(np.ceil(box[index, 3])) + 2)
        if x1 <= x0 or y1 <= y0:
            continue
        mask = Image.new("L", (x1 - x0, y1 - y0), 0)
        draw_mask = ImageDraw.Draw(mask)
        for points in polygons[index]:
            draw_mask.polygon([(u - x0, v - y0) for u, v in points], fill=1)
        silhouette[index] = mask.histogram()[1]
    return Rendering(
        image=np.array(canvas),
        drawable=drawable,
        box=box,
        visible_pixels=visible,
        silhouette_pixels=silhouette,
    )
