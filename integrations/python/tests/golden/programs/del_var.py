def main():
    x = 1
    y = x + 1
    del x
    x = 5
    return y + x


print(main())
