"""Operator symbol -> operation object."""

from .advanced import Modulo, Power, SquareRoot
from .basic import Add, Divide, Multiply, Subtract

_REGISTRY = {op.symbol: op for op in (Add(), Subtract(), Multiply(), Divide(), Power(),
                                      Modulo(), SquareRoot())}


def lookup(symbol):
    return _REGISTRY.get(symbol)
