// Placeholder until the host branch lands.
