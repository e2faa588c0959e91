"""The job queue and the worker: training and prediction run in a worker process that claims queued jobs from the
store and writes progress back (queue, runner, progress, worker and one module per kind of job)."""
