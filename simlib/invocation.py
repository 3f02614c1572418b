"""One invocation of the function on a batch, worked out arithmetically.

An invocation is a single SimPy step: when it starts, its whole timeline is computed
here (INIT when cold, the function's own init if it lives in the handler, then each
record in turn: idempotency check, database connection and queries, handler duration,
failure) and the caller waits once for its end. Records run one after another; without
ReportBatchItemFailures the handler raises at the first failing record and the rest do
not run; with it every record runs and the failed ids are returned.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from simlib import limits
from simlib.idempotency import COMPLETE, IN_PROGRESS, IdempotencyStore
from simlib.lambda_service import ExecutionEnvironment
from simlib.streams import KeyedColumns


@dataclass
class InvocationResult:
    """What the platform and the poller see of one invocation."""

    duration_s: float  # from the invoke to the response, INIT included
    init_s: float  # INIT phase time billed (0 when warm)
    status: str  # ok, partial, error, timeout
    succeeded: list[int] = field(default_factory=list)  # messages to delete / answer ok
    failed_items: int = 0
    reset: bool = False


class Executor:
    """Runs batches against the run's shared state (messages, draws, database, store)."""

    def __init__(self, env, scenario, messages, draws, database, streams, records):
        self.env = env
        self.fn = scenario.function
        self.handler = scenario.handler
        self.report_failures = scenario.source == "sqs" and scenario.mapping.report_batch_item_failures
        self.msgs = messages
        self.draws = draws
        self.db = database
        self.queries = scenario.handler.db_queries_per_message if database is not None else 0
        self.store = IdempotencyStore(scenario.handler.idempotency_expiry_s) if scenario.handler.idempotency else None
        self.records = records
        self._malformed = KeyedColumns(streams, "malformed", messages.n, lambda r, n: r.random(n))
        self.malformed_rate = scenario.handler.malformed_response_rate
        self.in_handler_init_s = self.fn.init_s if self.fn.init_in_handler else 0.0
        self.stepped = database is not None or self.store is not None

    def run(self, e: ExecutionEnvironment, batch: list[int]):
        """Generator: work through ``batch`` on ``e`` starting now; returns the result.

        With a database or an idempotency store (shared state that must be touched in
        time order) it yields a SimPy timeout before each record after the first, so a
        record's queries are issued at the simulated time they happen; otherwise it
        never yields and the whole timeline is arithmetic. The caller then waits until
        ``start + result.duration_s``.
        """
        msgs, draws, db, store = self.msgs, self.draws, self.db, self.store
        env = self.env
        now = env.now
        init = e.init_s
        t = now
        if init > limits.INIT_LIMIT_S:
            # INIT timed out: Lambda bills the 10 s and repeats INIT inside the invoke.
            init_billed = limits.INIT_LIMIT_S
            t += limits.INIT_LIMIT_S
            invoke_start = t
            t += init
        else:
            init_billed = init
            t += init
            invoke_start = t
        deadline = invoke_start + self.fn.timeout_s
        t += self.in_handler_init_s
        per_invocation_conn = db is not None and db.per_invocation
        opened_here = False
        succeeded: list[int] = []
        failed = 0
        status = "ok"
        ran = 0
        first_attempt = msgs.executions[batch[0]]
        for m in batch:
            if t >= deadline:
                break
            if self.stepped and t > env.now:
                yield env.timeout(t - env.now)
            ran += 1
            k = msgs.executions[m]
            msgs.executions[m] = k + 1
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
                if self.queries:
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
                        for _ in range(self.queries):
                            t, q_ok = db.query(t)
                            if not q_ok:
                                ok = False
                                break
                t += draws.duration(m, k)
                if ok and (msgs.poison[m] or draws.fails(m, k)):
                    ok = False
            timed_out = t > deadline
            end = min(t, deadline)
            if timed_out:
                ok = False
            self.records.execution(m, start, end, ok)
            if claimed:
                store.record(m, start, end, ok, deadline if timed_out else end)
            if ok:
                msgs.successful[m] += 1
                if side_effect:
                    msgs.side_effects[m] += 1
                succeeded.append(m)
            else:
                failed += 1
            if timed_out:
                status = "timeout"
                t = deadline
                break
            if not ok and not self.report_failures:
                status = "error"
                break
        if opened_here:
            db.disconnect()
        if status == "ok" and ran < len(batch):
            status = "timeout"  # the deadline came before the remaining records could start
            t = deadline
        elif status == "ok" and t > deadline:  # INIT repeated inside the invoke ran out the clock
            status = "timeout"
            t = deadline
        if status == "ok" and failed:
            status = "partial"
        if status == "partial" and self.malformed_rate > 0:
            if self._malformed.column(first_attempt)[batch[0]] < self.malformed_rate:
                status = "error"  # a malformed response fails the whole batch
        if status in ("error", "timeout"):
            failed_items = len(batch)  # the whole batch returns to the queue
            succeeded = []
        else:
            failed_items = failed
        return InvocationResult(
            duration_s=t - now,
            init_s=init_billed,
            status=status,
            succeeded=succeeded,
            failed_items=failed_items,
            reset=status == "timeout",
        )


def run_now(steps) -> InvocationResult:
    """Drive an executor generator that does not step (no database, no store)."""
    try:
        next(steps)
    except StopIteration as done:
        return done.value
    raise RuntimeError("run_now() used on an invocation that steps through simulated time")
