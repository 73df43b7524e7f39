"""A test's work in a thread of its own, with its own database connection."""

import threading

from django.db import connection


class InThread:
    """Run ``target`` in a thread with its own database connection; keep its result or error."""

    def __init__(self, target, *args, **kwargs):
        self.result = None
        self.error = None
        self.thread = threading.Thread(target=self._run, args=(target, args, kwargs), daemon=True)
        self.thread.start()

    def _run(self, target, args, kwargs):
        try:
            self.result = target(*args, **kwargs)
        except BaseException as exc:  # handed to the test through join()
            self.error = exc
        finally:
            connection.close()

    def join(self, timeout: float = 60):
        self.thread.join(timeout)
        assert not self.thread.is_alive(), f"the thread did not finish within {timeout} s"
        if self.error is not None:
            raise self.error
        return self.result
