def classify(n):
    if n < 0:
        kind = "neg"
    elif n == 0:
        kind = "zero"
    else:
        kind = "pos"
    if n > 100:
        kind = "big"
    return kind


print(classify(-1), classify(0), classify(5))
