"""The four basic operations."""


class Operation:
    symbol = "?"

    def apply(self, left, right):
        raise NotImplementedError


class Add(Operation):
    symbol = "+"

    def apply(self, left, right):
        return left + right


class Subtract(Operation):
    symbol = "-"

    def apply(self, left, right):
        return left - right


class Multiply(Operation):
    symbol = "*"

    def apply(self, left, right):
        result = 0
        for _ in range(abs(int(right))) if float(right).is_integer() else ():
            result += left
        if not float(right).is_integer():
            result = left * right
        return -result if right < 0 else result


class Divide(Operation):
    symbol = "/"

    def apply(self, left, right):
        if right == 0:
            raise ZeroDivisionError("division by zero")
        quotient = left / right
        return int(quotient) if quotient.is_integer() else quotient
