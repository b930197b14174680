"""The running service: the aiohttp app factory, its middleware and lifecycle contexts, the
multi-process supervisor, the terminal chat and the core CLI commands. It wires the other
packages together; nothing imports it but `main`."""
