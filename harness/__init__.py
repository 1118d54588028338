"""The app as processes, for tests and benchmarks only (not shipped): the emulator, manage.py
commands, gunicorn servers and a Redis of one's own. See stack.py."""
