"""The error every malformed KITTI file (label, result, calib, frame-id list) raises."""

import os


class KittiFormatError(ValueError):
    """A KITTI-format file cannot be read: names the file and, for text files, the line.

    ``path`` is the file (or the source name given to a ``parse_*`` function), ``line`` the
    1-based line number or ``None`` when the problem is not tied to one line.
    The message reads ``path:line: reason``.
    """

    def __init__(self, path: str | os.PathLike[str], line: int | None, reason: str) -> None:
        self.path = os.fspath(path)
        self.line = line
        self.reason = reason
        where = self.path if line is None else f"{self.path}:{line}"
        super().__init__(f"{where}: {reason}")

    def __reduce__(self) -> tuple[type, tuple[str, int | None, str]]:  # picklable across workers
        return (type(self), (self.path, self.line, self.reason))
