API = "https://example.invalid"
password = "hunter2-literal"


def login(user, password, api_key):
    token = password + api_key
    config = {"secret": "s3cr3t-value", "user": user}
    return len(token) + len(config)


print(login("ann", "pw-123456", "key-abcdef"))
