"""Where results live and how they are computed: the checksummed, resumable store (:mod:`~verification.store.cache`),
atomic files (:mod:`~verification.store.files`), where tasks run (:mod:`~verification.store.execution`: in process
or on Dask), the runner that joins them (:mod:`~verification.store.runner`) and provenance
(:mod:`~verification.store.provenance`).
"""

__all__ = ["cache", "execution", "files", "provenance", "runner"]
