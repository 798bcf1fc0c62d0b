"""mono3d.kitti: the KITTI text formats, one strict reader and writer each (pure Python +
numpy, no torch), shared by :mod:`mono3d.data` (training, writing results) and
:mod:`mono3d.eval` (ground truth and results).

* label / result lines: :func:`read_kitti_label` (objects), :func:`read_label_table`
  (arrays), :func:`write_kitti_label`;
* calib files: :func:`read_kitti_calib`, :func:`write_kitti_calib`;
* frame-id lists: :func:`read_id_list`.

One rule for every reader: UTF-8 (a leading BOM stripped), ``\\n`` or CRLF line ends,
fields split at ASCII whitespace, ASCII numbers finite in float32, integer fields in range;
every problem a :class:`KittiFormatError` ``path:line: field ...``.
"""

from ._calib import KittiCalib as KittiCalib
from ._calib import parse_kitti_calib as parse_kitti_calib
from ._calib import read_kitti_calib as read_kitti_calib
from ._calib import write_kitti_calib as write_kitti_calib
from ._errors import KittiFormatError as KittiFormatError
from ._ids import parse_id_list as parse_id_list
from ._ids import read_id_list as read_id_list
from ._label import LABEL_FIELDS as LABEL_FIELDS
from ._label import OCCLUDED_RANGE as OCCLUDED_RANGE
from ._label import SCORE_DECIMALS as SCORE_DECIMALS
from ._label import KittiLabelTable as KittiLabelTable
from ._label import KittiObject as KittiObject
from ._label import format_kitti_object as format_kitti_object
from ._label import parse_kitti_label as parse_kitti_label
from ._label import parse_label_table as parse_label_table
from ._label import read_kitti_label as read_kitti_label
from ._label import read_label_table as read_label_table
from ._label import write_kitti_label as write_kitti_label
from ._numbers import FLOAT32_MAX as FLOAT32_MAX
from ._text import read_text as read_text
from ._version import __version__ as __version__

__all__ = [
    "FLOAT32_MAX",
    "LABEL_FIELDS",
    "OCCLUDED_RANGE",
    "SCORE_DECIMALS",
    "KittiCalib",
    "KittiFormatError",
    "KittiLabelTable",
    "KittiObject",
    "__version__",
    "format_kitti_object",
    "parse_id_list",
    "parse_kitti_calib",
    "parse_kitti_label",
    "parse_label_table",
    "read_id_list",
    "read_kitti_calib",
    "read_kitti_label",
    "read_label_table",
    "read_text",
    "write_kitti_calib",
    "write_kitti_label",
]
