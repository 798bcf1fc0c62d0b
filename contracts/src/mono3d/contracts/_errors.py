"""The error every violated contract raises."""


class ContractError(TypeError):
    """A tensor crossing a block boundary has the wrong shape, dtype or type.

    The message is one line: the function or bundle, the tensor (``parameter 'x'``,
    ``return value`` or ``Bundle.field``), the expected shape and dtype and the actual ones,
    and for a dimension that disagrees, which tensor bound its size.
    """
