// Placeholder until the host branch lands.
print("tracesnap")
