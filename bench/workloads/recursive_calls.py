"""Recursive calls: call/return-dominated (fib-like), small frames."""

SIZES = {"full": 22, "quick": 19, "reference": 16, "callgrind": (12, 14)}


def fib(k):
    if k < 2:
        return k
    return fib(k - 1) + fib(k - 2)


def run(n):
    return fib(n)


if __name__ == "__main__":
    print(run(SIZES["full"]))
