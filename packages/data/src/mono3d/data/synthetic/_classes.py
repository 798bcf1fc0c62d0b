"""KITTI-like object sizes and the colours synthetic objects are drawn in."""

from mono3d.geometry import KITTI_CLASS_PRIORS

#: (mean, std) of (h, w, l) in metres for the sampled classes (KITTI training statistics;
#: the means are the model's class priors, mono3d.geometry.KITTI_CLASS_PRIORS)
KITTI_SIZES: dict[str, tuple[tuple[float, float, float], tuple[float, float, float]]] = {
    "Car": (KITTI_CLASS_PRIORS["Car"], (0.14, 0.10, 0.43)),
    "Pedestrian": (KITTI_CLASS_PRIORS["Pedestrian"], (0.11, 0.14, 0.23)),
    "Cyclist": (KITTI_CLASS_PRIORS["Cyclist"], (0.09, 0.12, 0.18)),
}

#: default class frequencies of sampled scenes
DEFAULT_CLASS_WEIGHTS: dict[str, float] = {"Car": 0.6, "Pedestrian": 0.25, "Cyclist": 0.15}

#: base RGB colour per KITTI type (objects get a random variation of it)
BASE_COLOURS: dict[str, tuple[int, int, int]] = {
    "Car": (50, 95, 185),
    "Van": (40, 150, 160),
    "Truck": (135, 95, 60),
    "Tram": (200, 175, 55),
    "Pedestrian": (205, 115, 45),
    "Person_sitting": (190, 80, 125),
    "Cyclist": (60, 155, 70),
    "Misc": (125, 125, 125),
}
#: colour of a type not listed above
OTHER_COLOUR: tuple[int, int, int] = (120, 120, 120)
#: the front face is blended towards this light colour, the back face towards the dark one
FRONT_TINT: tuple[int, int, int] = (250, 240, 190)
BACK_TINT: tuple[int, int, int] = (110, 15, 15)
