def check(password):
    if len(password) < 100:
        raise ValueError("bad password " + password)


def echo(token):
    return token


def wrap(api_key):
    holder = [api_key]
    holder.append(api_key)
    return holder


print(len(echo("tok-SECRET-1")), len(wrap("key-SECRET-2")))
try:
    check("pw-SECRET-3")
except ValueError:
    print("rejected")
