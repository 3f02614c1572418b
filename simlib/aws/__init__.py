"""The modelled AWS services, one module per service or mechanism: SQS standard and FIFO
queues, the event source mapping's pollers, the Lambda service (environments,
concurrency, an invocation's timeline, the handler's draws, asynchronous invocation, the
synchronous callers), SNS and EventBridge (push delivery with retries) and the
database behind a function. They build on :mod:`simlib.core` only."""
