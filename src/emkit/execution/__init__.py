"""Where EM's passes read their rows and where they run: the placement axis of the design,
kept apart from the families (what is modelled) and the engine (how EM runs).

:mod:`~emkit.execution.sources`
    Row sources: every kind of data a fit reads (arrays, memory-mapped arrays, CSR matrices,
    pandas and Arrow tables, Sequences, Labelled, re-iterables of chunks) behind one small
    protocol (rows, chunks, a one-pass sample, columns).
:mod:`~emkit.execution.files`
    Sources over files read a chunk at a time: ``.npy`` (memory-mapped), Parquet, CSV;
    :func:`emkit.open_data`.
:mod:`~emkit.execution.executor`
    The executor protocol (place a source, map a function over its chunks and add up the
    results in a fixed order, draw the start's sample) and the thread executor, with its
    timing policy.
:mod:`~emkit.execution.local`
    The thread pool beneath the thread executor.
:mod:`~emkit.execution.dask`
    The Dask executor, and dask arrays and DataFrames as sources.

An executor knows no model, and a model no executor: the driver hands one to the other. Passes
add up in chunk order whatever order the workers finish in, so a threaded pass gives exactly
(bit for bit) the result of a serial one, and a Dask pass the same to round-off.
"""
