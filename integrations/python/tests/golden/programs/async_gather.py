import asyncio


async def work(name, n):
    total = 0
    for i in range(n):
        await asyncio.sleep(0)
        total += i
    return name + str(total)


async def main():
    a = await work("a", 1)
    both = await asyncio.gather(work("b", 2), work("c", 3))
    return [a] + both


print(asyncio.run(main()))
