"""Progress reporting for ``Database.insert_images``.

``make(progress, total)`` turns the caller's ``progress`` argument into a callable
``(done, failed, committed)`` (with an optional ``close``), or None for no reporting.
"""

from typing import Any, Callable, Optional


def make(progress: Any, total: Optional[int]) -> Optional[Callable[[int, int, int], None]]:
    """None/False: nothing; True: a tqdm bar if tqdm is installed (else nothing); a callable:
    itself (called on hamdb's writer thread, with the GIL, after each batch)."""
    if progress is None or progress is False:
        return None
    if progress is True:
        try:
            from tqdm.auto import tqdm
        except ImportError:
            return None
        return _TqdmProgress(tqdm(total=total, unit="img", desc="insert_images"))
    if callable(progress):
        return progress
    raise TypeError(
        "progress must be None, a bool or a callable (done, failed, committed), got "
        + type(progress).__name__
    )


class _TqdmProgress:
    """A tqdm bar driven by hamdb's cumulative counts."""

    def __init__(self, bar: Any) -> None:
        self._bar = bar

    def __call__(self, done: int, failed: int, committed: int) -> None:
        self._bar.update(done - self._bar.n)
        self._bar.set_postfix(failed=failed, committed=committed, refresh=False)

    def close(self) -> None:
        self._bar.close()
