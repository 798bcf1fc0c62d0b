"""Which KITTI types become training objects, which become ignore regions, which are dropped.

Rules (also in the README):

* a type listed in ``classes`` is an object of category ``classes.index(type) + 1``
  (0 is background);
* ``DontCare`` is an ignore region; ``Van`` is one when ``Car`` is a class and
  ``Person_sitting`` one when ``Pedestrian`` is a class (KITTI's neighbouring classes: a
  detector should neither be rewarded nor punished there);
* ``mapping`` overrides or adds entries: ``{"Van": "Car"}`` trains vans as cars,
  ``{"Truck": "ignore"}`` ignores trucks, ``{"Van": "drop"}`` treats vans as background;
* every other type (Truck, Tram, Misc by default) is dropped: it is background.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

# the default object classes (category 1, 2, 3) are the model-wide vocabulary's
from mono3d.geometry import DEFAULT_CLASSES as DEFAULT_CLASSES

#: mapping targets other than a class name
IGNORE = "ignore"
DROP = "drop"
#: KITTI neighbouring classes: ignored (not background) when their neighbour is a class
NEIGHBOURS: dict[str, str] = {"Van": "Car", "Person_sitting": "Pedestrian"}
#: category stored in ignore rows
IGNORE_CATEGORY = 0


@dataclass(frozen=True)
class ClassMap:
    """KITTI type -> category (``>= 1``) or :data:`IGNORE_CATEGORY` (ignore row); types
    absent from ``table`` are dropped. Build it with :meth:`build`."""

    classes: tuple[str, ...]
    table: Mapping[str, int]

    @classmethod
    def build(
        cls, classes: Sequence[str] = DEFAULT_CLASSES, mapping: Mapping[str, str] | None = None
    ) -> "ClassMap":
        """The default rules for ``classes`` overridden by ``mapping`` (type -> class name,
        ``"ignore"`` or ``"drop"``). Raises ValueError naming a bad class or mapping entry."""
        names = tuple(classes)
        if not names:
            raise ValueError("classes: at least one object class is needed")
        if len(set(names)) != len(names):
            raise ValueError(f"classes: names must be unique, got {list(names)}")
        for name in names:
            if name in (IGNORE, DROP, "DontCare") or not name:
                raise ValueError(f"classes: {name!r} cannot be an object class")
        table: dict[str, int] = {"DontCare": IGNORE_CATEGORY}
        for neighbour, owner in NEIGHBOURS.items():
            if owner in names and neighbour not in names:
                table[neighbour] = IGNORE_CATEGORY
        table.update({name: index + 1 for index, name in enumerate(names)})
        for raw, target in (mapping or {}).items():
            if target == DROP:
                table.pop(raw, None)
            elif target == IGNORE:
                table[raw] = IGNORE_CATEGORY
            elif target in names:
                table[raw] = names.index(target) + 1
            else:
                raise ValueError(
                    f"mapping[{raw!r}]: {target!r} is neither one of the classes "
                    f"{list(names)} nor {IGNORE!r} / {DROP!r}"
                )
        return cls(classes=names, table=dict(table))

    @property
    def num_categories(self) -> int:
        """C: object classes plus background."""
        return len(self.classes) + 1

    def category(self, kind: str) -> int | None:
        """Category of a KITTI type: ``>= 1`` object, 0 ignore row, ``None`` dropped."""
        return self.table.get(kind)
