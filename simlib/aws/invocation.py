"""One invocation of the function on a batch, worked out arithmetically.

An invocation is a single SimPy step: when it starts, its whole timeline is computed
here (INIT when cold, the function's own init if it lives in the handler, then each
record in turn: idempotency check, database connection and queries, handler duration,
failure) and the caller waits once for its end. Records run one after another; without
ReportBatchItemFailures the handler raises at the first failing record and the rest do
not run; with it every record runs and the failed ids are returned.
"""

from __future__ import annotations

from dataclasses import dataclass

from simlib.aws.idempotency import COMPLETE, IN_PROGRESS, IdempotencyStore
from simlib.aws.lambda_service import ExecutionEnvironment
from simlib.core import limits
from simlib.core.streams import GrowingKeyedColumns, KeyedColumns


@dataclass(slots=True)
class InvocationResult:
    """What the platform and the poller see of one invocation."""

    duration_s: float  # from the invoke to the response, INIT included
    init_s: float  # INIT phase time billed (0 when warm)
    status: str  # ok, partial, error, timeout
    succeeded: list[int]  # messages to delete / answer ok
    failed_items: int
    reset: bool
    close_connection: bool  # a per-invocation connection to close when it ends


class Executor:
    """Runs batches against the run's shared state (messages, draws, database, store)."""

    def __init__(self, env, scenario, messages, draws, database, streams, records):
        h = scenario.handler
        self.env = env
        self.timeout_s = scenario.function.timeout_s
        self.report_failures = scenario.source == "sqs" and scenario.mapping.report_batch_item_failures
        self.msgs = messages
        self.draws = draws
        self.db = database
        self.queries = h.db_queries_per_message if database is not None else 0
        # one query per record that the database books directly: the common case
        self._book = database.book if self.queries == 1 and database.books_directly else None
        self.store = IdempotencyStore(h.idempotency_expiry_s) if h.idempotency else None
        self.records = records
        if messages.grows:
            self._malformed = GrowingKeyedColumns(streams, "malformed", lambda r, n: r.random(n))
            messages.add_grower(self._malformed)
        else:
            self._malformed = KeyedColumns(streams, "malformed", messages.n,
                                           lambda r, n: r.random(n))
        self.malformed_rate = h.malformed_response_rate
        fn = scenario.function
        self.in_handler_init_s = fn.init_s if fn.init_in_handler else 0.0
        # A client created outside the handler connects during INIT (a connection held per
        # environment, the function's own init outside the handler).
        self.connect_in_init = (
            self.queries > 0 and not fn.init_in_handler and not database.per_invocation
        ) if database is not None else False
        self.fifo = False  # set for a FIFO queue's mapping (the engine)
        self.emit = None  # emit(processed message ids): an application's handler sends
        # Only the idempotency store must be read in time order (the database books
        # its queries in a calendar that does not depend on booking order).
        self.stepped = self.store is not None

    def run(self, e: ExecutionEnvironment, batch: list[int]):
        """Generator: work through ``batch`` on ``e`` starting now; returns the result.

        With an idempotency store (shared state that must be read in time order) it
        yields a SimPy timeout before a record that starts later than the next scheduled
        event, so records check the store in time order with everyone else's; otherwise
        it never yields and the whole timeline is arithmetic. The caller then waits until
        ``start + result.duration_s``.
        """
        msgs, draws, db, store = self.msgs, self.draws, self.db, self.store
        executions, poison = msgs.executions, msgs.poison
        successful, side_effects = msgs.successful, msgs.side_effects
        durations, failures = draws.durations, draws.failures
        duration_cols, failure_cols = durations.columns, failures.columns
        failure_rate = draws.failure_rate
        exec_log = self.records.executions
        env = self.env
        stepped = self.stepped
        now = env.now
        init = e.init_s
        if init > 0.0 and self.connect_in_init and not e.connected:
            # The connection is opened in INIT. If it fails, INIT fails: the invoke
            # returns an error, the environment is discarded and the next request starts a
            # new one (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html,
            # "Init phase": a failed INIT is reported and the environment reset).
            init += db.cfg.connect_s
            if not db.connect():
                billed = min(init, limits.INIT_LIMIT_S)
                return InvocationResult(billed, billed, "error", [], len(batch), True, False)
            e.connected = True
        if init > limits.INIT_LIMIT_S:
            # INIT timed out: Lambda bills the 10 s and repeats INIT inside the invoke.
            init_billed = limits.INIT_LIMIT_S
            invoke_start = now + limits.INIT_LIMIT_S
            t = invoke_start + init
        else:
            init_billed = init
            invoke_start = t = now + init
        deadline = invoke_start + self.timeout_s
        t += self.in_handler_init_s
        queries, book = self.queries, self._book
        per_invocation_conn = queries and db.per_invocation
        opened_here = False
        succeeded: list[int] = []
        stopped = False
        failed = 0
        status = "ok"
        ran = 0
        first_attempt = executions[batch[0]]
        for m in batch:
            if t >= deadline:
                break
            if stepped and t > env.now and env.peek() <= t:
                yield env.timeout(t - env.now)
            ran += 1
            k = executions[m]
            executions[m] = k + 1
            start = t
            ok = True
            claimed = False
            side_effect = True
            if store is not None:
                st = store.status(m, start)
                if st == COMPLETE:
                    side_effect = False
                elif st == IN_PROGRESS:
                    ok = False
                else:
                    claimed = True
            if ok and side_effect:
                if queries:
                    if not e.connected and not opened_here:
                        t += db.cfg.connect_s
                        if db.connect():
                            if per_invocation_conn:
                                opened_here = True
                            else:
                                e.connected = True
                        else:
                            ok = False
                    if ok:
                        if book is not None:
                            t = book(t)
                        else:
                            t, ok = db.queries(t, queries)
                t += (duration_cols[k] if k < len(duration_cols) else durations.column(k))[m]
                if ok and (
                    poison[m]
                    or (failure_rate > 0.0 and (
                        failure_cols[k] if k < len(failure_cols) else failures.column(k)
                    )[m] < failure_rate)
                ):
                    ok = False
            timed_out = t > deadline
            if timed_out:
                ok = False
                end = deadline
            else:
                end = t
            exec_log.extend((m, start, end, ok, ok and side_effect))  # EXECUTION_FIELDS
            if claimed:
                store.record(m, start, end, ok, deadline if timed_out else end)
            if ok:
                successful[m] += 1
                if side_effect:
                    side_effects[m] += 1
                succeeded.append(m)
            else:
                failed += 1
                if timed_out:
                    status = "timeout"
                    t = deadline
                    break
                if not self.report_failures:
                    status = "error"
                    break
                if self.fifo:
                    # a FIFO queue's handler stops at the first failure and reports it and
                    # every record after it (services-sqs-errorhandling.html)
                    stopped = True
                    break
        if status == "ok" and not stopped and (ran < len(batch) or t > deadline):
            # the deadline came before the remaining records could start, or INIT
            # repeated inside the invoke ran out the clock
            status = "timeout"
            t = deadline
        if status == "ok" and failed:
            status = "partial"
            if stopped:
                failed = len(batch) - len(succeeded)
        if self.report_failures and (status == "ok" or status == "partial"):
            # A function that reports item failures returns a batchItemFailures response;
            # a malformed one (invalid JSON, an itemIdentifier that is null, empty or not
            # in the batch) fails the whole batch, whether or not any record failed; an
            # empty list is success.
            # https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html
            rate = self.malformed_rate
            if rate > 0 and self._malformed.column(first_attempt)[batch[0]] < rate:
                status = "error"
        if status == "error" or status == "timeout":
            failed = len(batch)  # the whole batch returns to the queue
            succeeded = []
        return InvocationResult(
            t - now, init_billed, status, succeeded, failed, status == "timeout", opened_here
        )

    def finish(self, result: InvocationResult) -> None:
        """The invocation has ended: close a connection it opened for itself, and send
        what the handler sends for each record it processed (an application's
        ``emits``; every consumer calls this once per invocation that ran)."""
        if result.close_connection:
            self.db.disconnect()
        if self.emit is not None and result.succeeded:
            self.emit(result.succeeded)


def run_now(steps) -> InvocationResult:
    """Drive an executor generator that does not step (no database, no store)."""
    try:
        next(steps)
    except StopIteration as done:
        return done.value
    raise RuntimeError("run_now() used on an invocation that steps through simulated time")
