"""String processing: build, split, transform and count words; str locals change every line."""

WORDS = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa"]


SIZES = {"full": 12000, "quick": 4000, "reference": 800, "callgrind": (100, 200)}


def make_line(i):
    parts = []
    for k in range(6):
        parts.append(WORDS[(i * 7 + k * 3) % len(WORDS)])
    return " ".join(parts)


def run(n):
    counts = {}
    longest = ""
    total = 0
    for i in range(n):
        line = make_line(i)
        for word in line.split():
            word = word.capitalize()
            counts[word] = counts.get(word, 0) + 1
            if len(word) > len(longest):
                longest = word
        total += len(line)
    report = ", ".join(f"{w}={c}" for w, c in sorted(counts.items()))
    return total, longest, len(report)


if __name__ == "__main__":
    print(run(SIZES["full"]))
