"""Unit tests of the modelled parts on their own: queue, Lambda service, database,
idempotency store and the duplicate definition."""

import itertools

import numpy as np
import simpy

from simlib.database import DatabaseModel
from simlib.idempotency import COMPLETE, IN_PROGRESS, NONE, IdempotencyStore
from simlib.lambda_service import LambdaFunction
from simlib.messages import DELETED, DLQ, EXPIRED, IN_FLIGHT, QUEUED, MessageTable
from simlib.queue import SqsQueue
from simlib.results import duplicate_flags
from simlib.scenario import Database, Queue, Scenario
from simlib.streams import Streams


def make_queue(sent, visibility=30.0, max_receives=5, retention=345_600.0):
    env = simpy.Environment()
    msgs = MessageTable(np.asarray(sent, dtype=float), np.zeros(len(sent), bool), retention)
    cfg = Queue(visibility_timeout_s=visibility, max_receive_count=max_receives, retention_s=retention)
    return env, msgs, SqsQueue(env, cfg, msgs)


def advance(env, t):
    env.run(until=t)


# -- SQS queue ------------------------------------------------------------------------
def test_at_the_in_flight_quota_a_receive_returns_nothing_until_messages_leave_flight():
    """SQS quota: about 120,000 in-flight messages per standard queue; at the quota a
    long-polling ReceiveMessage returns no messages (a short poll gets OverLimit)
    (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html).
    The quota is lowered on this queue object to keep the test small."""
    env, msgs, q = make_queue([0.0] * 30, visibility=30.0)
    assert q.in_flight_max == 120_000
    q.in_flight_max = 12
    first = q.receive(10, 1.0)
    second = q.receive(10, 1.0)
    assert len(first) == 10 and len(second) == 2  # the second call gets only the room left
    assert q.in_flight == 12
    calls, empty = q.receive_calls, q.empty_receive_calls
    assert q.receive(10, 1.0) == []  # at the quota: nothing, though 18 are visible
    assert q.visible(env.now) == 18
    assert (q.receive_calls, q.empty_receive_calls) == (calls + 1, empty + 1)  # still billed
    assert q.delete([(m, q.receipt(m)) for m in first[:3]]) == 3
    assert len(q.receive(10, 1.0)) == 3  # room for three again
    # an idle consumer waiting at the quota wakes after a long poll, not at once
    ev = q.wait()
    advance(env, 19.0)
    assert not ev.processed
    advance(env, 20.5)
    assert ev.processed


def test_receive_returns_at_most_ten_and_only_sent_messages():
    env, _msgs, q = make_queue([0.0] * 15 + [5.0])
    advance(env, 1.0)
    got = q.receive(10, 2.0)
    assert got == list(range(10))
    assert q.receive(10, 2.0) == list(range(10, 15))  # message 15 is not sent yet
    assert q.receive(10, 2.0) == []
    assert q.receive_calls == 3 and q.empty_receive_calls == 1


def test_unfinished_message_reappears_at_receive_time_plus_visibility():
    env, msgs, q = make_queue([0.0], visibility=10.0)
    advance(env, 2.0)
    assert q.receive(1, 1.0) == [0]
    advance(env, 11.9)
    assert q.visible(env.now) == 0 and q.receive(1, 1.0) == []
    advance(env, 12.0)  # received at 2 s + 10 s
    assert q.visible(env.now) == 1
    assert q.receive(1, 1.0) == [0]
    assert msgs.receive_count[0] == 2


def test_redrive_happens_at_the_receive_that_would_exceed_max_receive_count():
    env, msgs, q = make_queue([0.0], visibility=1.0, max_receives=2)
    assert q.receive(1, 1.0) == [0]
    advance(env, 1.5)
    assert q.receive(1, 1.0) == [0]
    advance(env, 3.0)
    assert q.receive(1, 1.0) == []  # the third receive delivers nothing
    assert msgs.state[0] == DLQ and msgs.receive_count[0] == 2 and q.dlq_depth == 1


def test_delete_with_an_outdated_receipt_deletes_nothing():
    env, msgs, q = make_queue([0.0], visibility=1.0)
    [m] = q.receive(1, 1.0)
    old = q.receipt(m)
    advance(env, 1.5)
    assert q.receive(1, 1.0) == [m]  # received again: a new receipt
    assert q.delete([(m, old)]) == 0 and msgs.state[m] == IN_FLIGHT
    assert q.delete([(m, q.receipt(m))]) == 1 and msgs.state[m] == DELETED
    assert q.delete_calls == 2


def test_a_visible_again_message_is_deleted_by_its_latest_receipt():
    env, msgs, q = make_queue([0.0], visibility=1.0)
    [m] = q.receive(1, 1.0)
    advance(env, 3.0)
    assert q.visible(env.now) == 1 and msgs.state[m] == QUEUED
    assert q.delete([(m, q.receipt(m))]) == 1
    assert q.visible(env.now) == 0 and q.receive(1, 1.0) == []


def test_receive_serves_messages_in_the_order_they_became_visible():
    # 0 and 1 return at 6.0 (received at 1.0, visibility 5); 2 was sent at 5.0 and 3 at
    # 6.0, so at 6.5 the order is 2, then the returned pair (a tie at 6.0 goes to the
    # returned messages), then 3; 4 is not sent yet
    env, _msgs, q = make_queue([0.0, 0.0, 5.0, 6.0, 7.0, 12.0], visibility=5.0)
    advance(env, 1.0)
    assert q.receive(2, 1.0) == [0, 1]
    advance(env, 6.5)
    assert q.receive(10, 1.0) == [2, 0, 1, 3]
    advance(env, 7.5)
    assert q.receive(10, 1.0) == [4]


def test_messages_received_at_the_same_instant_return_in_id_order():
    # at 10 message 1 (visible since 5) is served before message 0 (visible since 10);
    # both come back at 15 and are then served by id, whatever order they were taken in
    env, _msgs, q = make_queue([0.0, 0.0], visibility=5.0)
    assert q.receive(2, 1.0) == [0, 1]
    advance(env, 5.0)
    assert q.receive(1, 1.0) == [0]
    advance(env, 10.0)
    assert q.receive(2, 1.0) == [1, 0]
    advance(env, 15.0)
    assert q.receive(2, 1.0) == [0, 1]


def test_retention_expires_queued_and_in_flight_messages():
    env, msgs, q = make_queue([0.0, 0.0], visibility=100.0, retention=60.0)
    [a] = q.receive(1, 1.0)
    advance(env, 61.0)
    assert q.receive(1, 1.0) == []  # the queued one expired
    assert msgs.state[1] == EXPIRED and msgs.finished_s[1] == 60.0
    assert q.delete([(a, q.receipt(a))]) == 0  # the in-flight one is gone too
    assert msgs.state[a] == EXPIRED


def test_payload_above_64_kb_is_billed_in_chunks():
    _env, _msgs, q = make_queue([0.0] * 10)
    q.receive(10, 100.0)  # 1,000 KB -> 16 chunks -> 15 beyond the first request
    assert q.receive_units == 15


def test_a_waiter_wakes_when_the_next_message_is_sent():
    env, _msgs, q = make_queue([3.0])
    woke = []

    def consumer():
        yield q.wait()
        woke.append(env.now)

    env.process(consumer())
    env.run(until=10)
    assert woke == [3.0]


# -- Lambda service -------------------------------------------------------------------
def make_function(**fn):
    env = simpy.Environment()
    scenario = Scenario.from_dict({"function": fn})
    return env, LambdaFunction(env, scenario, Streams(1))


def test_cold_then_warm_and_newest_idle_environment_first():
    _env, fn = make_function()
    a, b = fn.acquire(), fn.acquire()
    assert fn.cold_starts == 2 and a.init_s > 0 and b.init_s > 0
    fn.release(a, reset=False)
    fn.release(b, reset=False)
    c = fn.acquire()
    assert c is b and fn.cold_starts == 2  # b was created last


def test_idle_environment_is_reclaimed_after_its_idle_lifetime():
    # lag and spread zeroed: the environment's idle lifetime is exactly idle_lifetime_s
    env, fn = make_function(idle_lifetime_s=60, idle_reclaim_lag_s=0, idle_lifetime_spread_s=0)
    e = fn.acquire()
    fn.release(e, reset=False)
    env.run(until=59)
    assert fn.acquire() is e
    fn.release(e, reset=False)
    env.run(until=59 + 60)
    assert fn.acquire() is not e and fn.cold_starts == 2


def test_the_monitor_sweep_reclaims_at_the_idle_or_the_maximum_lifetime():
    env, fn = make_function(idle_lifetime_s=60, max_lifetime_s=100, idle_reclaim_lag_s=0,
                            idle_lifetime_spread_s=0)
    b = fn.acquire()  # created at 0
    env.run(until=20)
    a = fn.acquire()  # created at 20
    env.run(until=45)
    fn.release(a, reset=False)  # its idle lifetime ends at 105
    env.run(until=50)
    fn.release(b, reset=False)  # idle until 110, but its maximum lifetime ends at 100
    for t, live in ((99.9, 2), (100, 1), (104.9, 1), (105, 0)):
        env.run(until=t)
        fn.sweep()
        assert fn.live == live, t


def test_idle_lifetime_is_nominal_plus_lag_spread_per_environment_with_keyed_draws():
    # AWS reclaimed idle environments 636-645 s after the last request when the nominal
    # lifetime was 10 min (data/README.md, "Environment lifetime"): nominal + lag, jittered.
    env, fn = make_function(idle_lifetime_s=600, idle_reclaim_lag_s=40, idle_lifetime_spread_s=10)
    envs = [fn.acquire() for _ in range(50)]
    lifetimes = [e.idle_s for e in envs]
    assert all(635 <= x <= 645 for x in lifetimes) and len(set(lifetimes)) == 50
    # common random numbers: environment k gets the same draw whatever else changes
    _env2, fn2 = make_function(idle_lifetime_s=600, idle_reclaim_lag_s=40,
                               idle_lifetime_spread_s=10, memory_mb=2048)
    assert [fn2.acquire().idle_s for _ in range(50)] == lifetimes
    e = envs[0]
    for x in envs:
        fn.release(x, reset=False)
    env.run(until=e.idle_s - 0.01)
    fn.sweep()
    assert fn.live == sum(x.idle_s > e.idle_s - 0.01 for x in envs)
    env.run(until=646)
    fn.sweep()
    assert fn.live == 0


def _three_idle(routing, **fn_cfg):
    """Environments a, b, c (created in that order), released in the order b, c, a."""
    env, fn = make_function(routing=routing, **fn_cfg)
    a, b, c = fn.acquire(), fn.acquire(), fn.acquire()
    for t, e in ((1.0, b), (2.0, c), (3.0, a)):
        env.run(until=t)
        fn.release(e, reset=False)
    return env, fn, (a, b, c)


def test_routing_newest_is_the_default_and_takes_the_newest_created():
    assert Scenario().function.routing == "newest"
    _env, fn, (_a, _b, c) = _three_idle("newest")
    assert fn.acquire() is c and fn.cold_starts == 3


def test_routing_recent_takes_the_most_recently_released():
    _env, fn, (a, b, c) = _three_idle("recent")
    assert fn.acquire() is a  # released last, though created first
    assert fn.acquire() is c and fn.acquire() is b and fn.cold_starts == 3
    assert fn.acquire() is not None and fn.cold_starts == 4  # none idle: a new one


def test_routing_oldest_takes_the_least_recently_released_round_robin():
    env, fn, (a, b, c) = _three_idle("oldest", idle_lifetime_s=60, idle_reclaim_lag_s=0,
                                     idle_lifetime_spread_s=0)
    assert fn.acquire() is b  # released first
    fn.release(b, reset=False)  # to the back of the line: c, a, b
    got = [fn.acquire() for _ in range(3)]
    assert got == [c, a, b] and fn.cold_starts == 3
    for t, e in ((10.0, c), (20.0, a), (30.0, b)):
        env.run(until=t)
        fn.release(e, reset=False)
    env.run(until=70.0)  # c idle 60 s: reclaimed by the sweep, the order of the rest kept
    fn.sweep()
    assert fn.live == 2 and [fn.acquire(), fn.acquire()] == [a, b] and fn.cold_starts == 3


def test_routing_random_picks_uniformly_among_idle_from_its_own_keyed_stream():
    def picks(seed):
        env = simpy.Environment()
        scenario = Scenario.from_dict({"function": {"routing": "random"}})
        fn = LambdaFunction(env, scenario, Streams(seed))
        envs = [fn.acquire() for _ in range(3)]
        for e in envs:
            fn.release(e, reset=False)
        out = []
        for _ in range(600):
            e = fn.acquire()
            out.append(envs.index(e))
            fn.release(e, reset=False)
        assert fn.cold_starts == 3
        assert seed != 1 or [e.idle_s for e in envs] == lifetimes
        return out

    _env, newest = make_function()
    lifetimes = [newest.acquire().idle_s for _ in range(3)]  # seed 1: other streams untouched
    first = picks(1)
    assert picks(1) == first  # keyed draws: the same seed, the same picks
    assert picks(2) != first
    counts = np.bincount(first, minlength=3)
    assert all(150 <= n <= 250 for n in counts), counts  # about 200 each
    # not a fixed order: the environment just released is picked again about 1/3 of the time
    repeats = sum(x == y for x, y in itertools.pairwise(first))
    assert 140 <= repeats <= 260, repeats


def test_timeout_resets_the_environment():
    _env, fn = make_function()
    e = fn.acquire()
    fn.release(e, reset=True)
    assert fn.acquire() is not e and fn.live == 1


def test_reserved_concurrency_caps_and_throttles():
    _env, fn = make_function(reserved_concurrency=3)
    got = [fn.acquire() for _ in range(5)]
    assert sum(e is not None for e in got) == 3 and fn.throttles == 2 and fn.max_busy == 3


def test_scaling_rate_is_1000_per_10_seconds():
    env, fn = make_function()
    fn.cap = 10_000  # look at the token bucket alone
    got = [fn.acquire() for _ in range(1_100)]
    assert sum(e is not None for e in got) == 1_000
    env.run(until=1.0)  # refilled at 100 per second
    got = [fn.acquire() for _ in range(200)]
    assert sum(e is not None for e in got) == 100


def test_provisioned_environments_are_warm_and_spill_over_to_on_demand():
    _env, fn = make_function(provisioned_concurrency=2)
    a, b, c = fn.acquire(), fn.acquire(), fn.acquire()
    assert a.provisioned and b.provisioned and not c.provisioned
    assert a.init_s == 0 and b.init_s == 0 and c.init_s > 0 and fn.cold_starts == 1


def test_provisioned_environment_runs_init_at_allocation_and_at_each_recycle():
    """Provisioned concurrency: "Your function's initialization code runs during
    allocation and every few hours, as running instances of your function are recycled
    ... initialization is billed even if the instance never processes a request"
    (https://github.com/awsdocs/aws-lambda-developer-guide/blob/main/doc_source/configuration-concurrency.md).
    Lambda keeps the configured number initialised at any time
    (https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html): the
    replacement is ready when the old one goes, an idle one at its recycle time, a busy
    one when its invocation ends. The recycle period is max_lifetime_s (an assumption)."""
    env, fn = make_function(provisioned_concurrency=1, max_lifetime_s=60, init_s=1.0)
    assert fn.provisioned_inits == 1 and fn.live == 1 and fn.cold_starts == 0
    assert fn.provisioned_init_s[0] > 1.0  # the runtime's INIT + the function's own
    first = fn.acquire()
    assert first.init_s == 0  # the invocation does not wait for INIT
    recycle_at = first.retire_s
    assert 0 < recycle_at <= 60  # first recycle offset within one period
    fn.release(first, reset=False)
    env.run(until=recycle_at + 1e-9)  # idle at its recycle time: replaced then
    assert fn.provisioned_inits == 2 and fn.live == 1 and fn.idle == 1
    second = fn.acquire()
    assert second is not first and second.provisioned and second.init_s == 0
    assert second.created_s == recycle_at and second.retire_s == recycle_at + 60
    assert fn.cold_starts == 0
    env.run(until=second.retire_s + 5)  # busy at its recycle time: kept until released
    assert fn.provisioned_inits == 2 and fn.live == 1 and fn.busy == 1
    fn.release(second, reset=False)
    assert fn.provisioned_inits == 3 and fn.live == 1 and fn.idle == 1
    third = fn.acquire()
    assert third is not second and third.created_s == second.retire_s + 5
    assert fn.cold_starts == 0


def test_provisioned_recycles_are_spread_and_do_not_touch_on_demand_environments():
    # Environments allocated together are recycled at different moments (offset keyed by
    # the environment's number); runs without provisioned concurrency start no process.
    _, fn = make_function(provisioned_concurrency=5, max_lifetime_s=600)
    times = sorted(e.retire_s for e in fn._provisioned_idle)
    assert len(set(times)) == 5 and all(0 < t <= 600 for t in times)
    _env, plain = make_function()
    assert plain.provisioned_inits == 0 and plain.live == 0
    assert _env.peek() == float("inf")  # nothing scheduled


# -- database -------------------------------------------------------------------------
def test_connections_beyond_max_connections_are_refused():
    db = DatabaseModel(Database(max_connections=2))
    assert db.connect() and db.connect() and not db.connect()
    assert db.connection_errors == 1 and db.max_used == 2
    db.disconnect()
    assert db.connect()


def test_queries_queue_for_finite_workers():
    db = DatabaseModel(Database(workers=2, query_s=1.0))
    ends = [db.query(0.0)[0] for _ in range(4)]
    assert ends == [1.0, 1.0, 2.0, 2.0]


def test_proxy_pools_connections_and_times_out_borrowers():
    db = DatabaseModel(Database(max_connections=10, proxy=True, proxy_max_connections=1,
                                workers=10, query_s=1.0, proxy_borrow_timeout_s=1.5))
    assert all(db.connect() for _ in range(50))  # clients connect to the proxy
    assert db.query(0.0) == (1.0, True)
    assert db.query(0.0) == (2.0, True)  # waits 1 s for the single pooled connection
    end, ok = db.query(0.0)  # would wait 2 s > 1.5 s borrow timeout
    assert not ok and end == 1.5 and db.borrow_timeouts == 1
    assert db.max_used == 1


# -- idempotency ----------------------------------------------------------------------
def test_idempotency_store_states():
    store = IdempotencyStore(expiry_s=100.0)
    assert store.status(7, 0.0) == NONE
    store.record(7, 0.0, 2.0, ok=True, held_until=2.0)
    assert store.status(7, 1.0) == IN_PROGRESS
    assert store.status(7, 2.0) == COMPLETE
    assert store.status(7, 102.0) == NONE  # expired
    store.record(8, 0.0, 1.0, ok=False, held_until=30.0)  # timed out: held until deadline
    assert store.status(8, 10.0) == IN_PROGRESS and store.status(8, 30.0) == NONE


# -- duplicates -----------------------------------------------------------------------
def test_duplicate_definition():
    #          msg start end  ok
    rows = [
        (0, 0.0, 1.0, False),  # first attempt fails
        (0, 2.0, 3.0, True),  # a retry after a failure: not a duplicate
        (0, 4.0, 5.0, True),  # already processed successfully: duplicate
        (1, 0.0, 10.0, True),
        (1, 5.0, 6.0, False),  # another execution still running: duplicate
        (2, 0.0, 1.0, True),
    ]
    m, s, e, ok = (np.array(c) for c in zip(*rows))
    assert duplicate_flags(m, s, e, ok).tolist() == [False, False, True, False, True, False]


def test_duplicate_flags_agree_with_the_definition_applied_one_by_one():
    rng = np.random.default_rng(7)
    for _ in range(20):
        n = int(rng.integers(1, 60))
        message = rng.integers(0, 15, n)
        start = rng.integers(0, 20, n).astype(float)  # whole seconds: ties happen
        end = start + rng.integers(0, 6, n)
        ok = rng.random(n) < 0.5
        expected = []
        for i in range(n):
            earlier = [
                j for j in range(n)
                if j != i and message[j] == message[i] and (start[j], j) < (start[i], i)
            ]
            expected.append(any(ok[j] or end[j] > start[i] for j in earlier))
        assert duplicate_flags(message, start, end, ok).tolist() == expected
