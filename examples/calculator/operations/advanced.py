"""Operations built on the basic ones."""

from .basic import Multiply, Operation


class Power(Operation):
    symbol = "^"

    def apply(self, left, right):
        if right < 0 or int(right) != right:
            raise ValueError("only whole, non-negative exponents")
        result = 1
        multiply = Multiply()
        for _ in range(int(right)):
            result = multiply.apply(result, left)
        return result


class Modulo(Operation):
    symbol = "%"

    def apply(self, left, right):
        if right == 0:
            raise ZeroDivisionError("modulo by zero")
        return left % right


class SquareRoot(Operation):
    symbol = "sqrt"

    def apply(self, left, right=None):
        if left < 0:
            raise ValueError("square root of a negative number")
        guess = left / 2 or 1
        for _ in range(20):
            guess = (guess + left / guess) / 2
        return round(guess, 6)
