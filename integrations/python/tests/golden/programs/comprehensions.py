def main():
    squares = [i * i for i in range(3)]
    evens = {i for i in range(4) if i % 2 == 0}
    table = {k: v for k, v in zip("ab", (1, 2))}
    total = sum(x for x in squares)
    return squares, sorted(evens), table, total


print(main())
