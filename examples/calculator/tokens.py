"""Splitting an expression like "3 + 4" or "sqrt 9" into (left, operator, right)."""

UNARY = {"sqrt", "neg"}


def to_number(text):
    value = float(text)
    return int(value) if value.is_integer() else value


def split_expression(expression):
    parts = expression.split()
    if len(parts) == 2 and parts[0] in UNARY:
        return to_number(parts[1]), parts[0], None
    if len(parts) != 3:
        raise ValueError(f"expected 'a OP b', got {expression!r}")
    left, symbol, right = parts
    return to_number(left), symbol, to_number(right)
