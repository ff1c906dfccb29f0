"""Line-heavy numeric loop: every iteration is one traced line that rebinds an int."""

SIZES = {"full": 600, "quick": 250, "reference": 100, "callgrind": (40, 80)}


def run(n):
    s = 0
    for i in range(n):
        for j in range(n):
            s = (s + i * j) % 1000003
    return s


if __name__ == "__main__":
    print(run(SIZES["full"]))
