"""mono3d.logger: the crash-safe, resumable training history of a run (rank 0 only).

``HistoryLogger`` appends one validated record per line to ``run_dir/history.jsonl``
(fsynced), drops records past the checkpoint on resume, exports CSV and a loss-curve PNG,
and mirrors scalars to TensorBoard when a SummaryWriter is importable. ``atomic_write`` is
the crash-safe file replacement it uses (the trainer writes its checkpoints with it too).
"""

from ._export import csv_columns as csv_columns
from ._export import export_csv as export_csv
from ._export import plot_history as plot_history
from ._history_file import HistoryError as HistoryError
from ._history_file import HistoryWarning as HistoryWarning
from ._history_file import atomic_write as atomic_write
from ._history_file import read_history as read_history
from ._logger import HistoryLogger as HistoryLogger
from ._logger import LoggerConfig as LoggerConfig
from ._logger import history_logger as history_logger
from ._records import EvalRecord as EvalRecord
from ._records import TrainRecord as TrainRecord
from ._records import record_adapter as record_adapter
from ._version import __version__ as __version__

__all__ = [
    "EvalRecord",
    "HistoryError",
    "HistoryLogger",
    "HistoryWarning",
    "LoggerConfig",
    "TrainRecord",
    "__version__",
    "atomic_write",
    "csv_columns",
    "export_csv",
    "history_logger",
    "plot_history",
    "read_history",
    "record_adapter",
]
