"""Test and benchmark support, not shipped: the app as processes (stack.py: the emulator,
manage.py commands, gunicorn servers, a Redis of one's own) and a clock moved by hand
(clock.py)."""
