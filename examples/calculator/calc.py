"""A small multi-file calculator: the entry script plus sibling modules and a package.

    tracesnap record examples/calculator/calc.py -- "3 + 4" "10 / 0" "2 ^ 8" "sqrt 81"
    printf '6 * 7\\n' | tracesnap record examples/calculator/calc.py -- -

`tracesnap record` finds and traces every local module this script imports: tokens.py,
history.py and the operations package (operations/__init__.py, basic.py, advanced.py).
With no arguments it evaluates a few built-in examples; with "-" it reads one expression per
line from standard input.
"""

import sys

from history import History
from operations import lookup
from tokens import split_expression

EXAMPLES = ["3 + 4", "12 * 7", "10 / 4", "10 / 0", "2 ^ 10", "sqrt 144", "5 % 3"]


def evaluate(expression):
    left, symbol, right = split_expression(expression)
    operation = lookup(symbol)
    if operation is None:
        raise ValueError(f"unknown operator {symbol!r}")
    return operation.apply(left, right)


def main(argv):
    if argv == ["-"]:
        expressions = [line.strip() for line in sys.stdin if line.strip()]
    else:
        expressions = argv or EXAMPLES
    history = History()
    for expression in expressions:
        try:
            result = evaluate(expression)
        except (ValueError, ZeroDivisionError) as exc:
            history.record(expression, None, str(exc))
            print(f"{expression:>12} = error: {exc}")
        else:
            history.record(expression, result)
            print(f"{expression:>12} = {result}")
    print(history.summary())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
