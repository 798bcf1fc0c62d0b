"""The error every violated contract raises."""


class ContractError(TypeError):
    """A tensor crossing a block boundary has the wrong shape, dtype or type.

    The message names the function argument or bundle field, the expected dims and the
    actual shape (and, for a shared dim, which other tensor fixed its size).
    """
