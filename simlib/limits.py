"""AWS limits and platform constants, each defined once with its source.

Scenario validation and the engine both read these, so a documented limit changes in
one place. Figures are as documented on the date in ``data/README.md``.
"""

# Lambda quotas: https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
MEMORY_MB = (128, 10_240)
TIMEOUT_S = (1, 900)
ACCOUNT_CONCURRENCY_DEFAULT = 1_000
UNRESERVED_MIN = 100  # reserved concurrency must leave at least this much unreserved
# Scaling rate: each function may add up to 1,000 environments every 10 s, refilled
# continuously. https://docs.aws.amazon.com/lambda/latest/dg/scaling-behavior.html
SCALING_BURST = 1_000
SCALING_REFILL_PER_S = 100.0
# CPU is allocated in proportion to memory; 1,769 MB gives one full vCPU.
# https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html
ONE_VCPU_MB = 1_769
# INIT phase limit for on-demand functions (execution environment lifecycle docs).
INIT_LIMIT_S = 10.0
# Synchronous invocation payload limit, also the SQS batch payload limit of a mapping.
BATCH_PAYLOAD_KB = 6 * 1024

# SQS quotas: https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html
VISIBILITY_TIMEOUT_S = (0, 43_200)
RETENTION_S = (60, 1_209_600)
MAX_RECEIVE_COUNT = (1, 1_000)
RECEIVE_MAX_MESSAGES = 10  # ReceiveMessage returns at most 10 messages
DELETE_BATCH_MAX = 10  # DeleteMessageBatch takes at most 10 entries
LONG_POLL_S = 20.0  # the longest ReceiveMessage wait
MESSAGE_KB = (0.001, 1_024)  # 1 MiB message size since August 2025
BILLING_CHUNK_KB = 64  # each 64 KB of payload is billed as one request

# Event source mapping for SQS:
# https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html
# https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html
BATCH_SIZE = (1, 10_000)
BATCHING_WINDOW_S = (0, 300)
MAPPING_MAX_CONCURRENCY = (2, 1_000)
POLLERS_START = 5  # concurrent batches when a mapping starts
POLLERS_ADD_PER_MIN = 300  # added per minute while messages wait
POLLERS_CEILING = 1_000  # mapping ceiling (some accounts 1,250)

# Asynchronous retries are not modelled yet; the synchronous caller's retries are.
