"""The contracts of mono3d.losses are live: a wrong shape names the argument."""

import pytest
import torch

from mono3d.contracts import ContractError
from mono3d.losses import (
    Box2dRefinement,
    Box2dRegression,
    Box3dRegression,
    Category,
    DepthUncertainty,
    Objectness,
    YawCategory,
    YawRegression,
)

OBJECT = torch.ones(2, 5, 1, dtype=torch.long)


@pytest.mark.parametrize(
    ("call", "argument"),
    [
        (lambda: Box2dRegression()(torch.rand(2, 5, 3), torch.rand(2, 5, 4), OBJECT), "pred"),
        (lambda: Box2dRegression()(torch.rand(2, 5, 4), torch.rand(2, 6, 4), OBJECT), "target"),
        (lambda: Box3dRegression()(torch.rand(2, 5, 6), torch.rand(2, 5, 6), OBJECT[:1]), "object"),
        (lambda: YawRegression()(torch.rand(2, 5, 2), torch.rand(2, 5, 1), OBJECT), "pred"),
        (lambda: Objectness()(torch.rand(2, 5, 1), OBJECT.float()), "object"),
        (lambda: Category()(torch.rand(2, 5, 4), torch.rand(2, 5, 1), OBJECT), "category"),
        (lambda: YawCategory()(torch.rand(2, 5, 12), OBJECT, OBJECT[:, :4]), "object"),
        (lambda: Box2dRefinement()(torch.rand(2, 5, 4), torch.rand(2, 5, 6), OBJECT), "target"),
        (
            lambda: DepthUncertainty()(
                torch.rand(2, 5, 2), torch.rand(2, 5, 1), torch.rand(2, 5, 1), OBJECT
            ),
            "log_sigma",
        ),
        (
            lambda: DepthUncertainty()(
                torch.rand(2, 5, 1), torch.rand(2, 5, 1), torch.rand(2, 4, 1), OBJECT
            ),
            "target",
        ),
    ],
)
def test_wrong_shape_or_dtype_raises_contract_error_naming_the_argument(call, argument):
    with pytest.raises(ContractError, match=f"'{argument}'"):
        call()
