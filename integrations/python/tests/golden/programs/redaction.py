API = "https://example.invalid"
password = "hunter2-literal"
API_KEY = "upper-key-literal"


def login(user, password, api_key):
    token = password + api_key
    config = {"secret": "s3cr3t-value", "user": user}
    nested = {"auth": {"password": "nested-pw-value"}}
    return len(token) + len(config) + len(nested)


print(login("ann", "pw-123456", "key-abcdef"))
print(login(user="bob", password="kw-pw-value", api_key="kw-key-value"))
