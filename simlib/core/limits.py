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
# Invocation rate: each function may be invoked at most 10 times its concurrency limit
# (its reserved concurrency, else the account's limit) per second, every invocation type
# together; above it Lambda answers 429 (FunctionInvocationRateLimitExceeded /
# ReservedFunctionInvocationRateLimitExceeded).
# https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html ("Invocation
# requests per function per Region (RPS)") and
# https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html (TooManyRequestsException)
INVOCATION_RATE_PER_CONCURRENCY = 10
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
# concurrent invokes when a mapping starts (and its low-traffic level with a max concurrency)
POLLERS_START = 5
POLLERS_ADD_PER_MIN = 300  # added per minute while messages wait
# "The maximum number of invokes that an event source mapping can process simultaneously
# is 1,250" (services-sqs-scaling.html; MaximumConcurrency itself stays 2-1,000).
POLLERS_CEILING = 1_250
# "When traffic is low, Lambda scales back the processing to five concurrent invokes, and
# can optimize to as few as 2 concurrent invokes ... not available when you enable the
# maximum concurrency setting" (services-sqs-scaling.html).
POLLERS_IDLE_FLOOR = 2
# Provisioned mode (ProvisionedPollerConfig) of an SQS mapping, the alternative to
# MaximumConcurrency ("These are mutually exclusive options", services-sqs-scaling.html).
# MinimumPollers: "For Amazon SQS events source mappings, default is 2, and minimum 2
# required", at most 200; MaximumPollers: "For Amazon SQS event source mappings, the
# accepted range is between 2 and 10,000, with a default of 200"
# (https://docs.aws.amazon.com/lambda/latest/api/API_ProvisionedPollerConfig.html; the
# developer guide's invocation-eventsourcemapping.html still says a maximum of 2,000).
PROVISIONED_MIN_POLLERS = (2, 200)
PROVISIONED_MAX_POLLERS = (2, 10_000)
PROVISIONED_MIN_POLLERS_DEFAULT = 2
PROVISIONED_MAX_POLLERS_DEFAULT = 200
# "each event poller can handle up to 1 MB/sec of throughput, up to 10 concurrent
# invokes, or up to 10 Amazon SQS polling API calls per second. Lambda scales the number
# of event pollers between your configured minimum and maximum, quickly adding up to
# 1,000 concurrency per minute" (services-sqs-scaling.html; the AWS News blog "AWS Lambda
# enhances event processing with provisioned mode for SQS event-source mapping",
# https://aws.amazon.com/blogs/aws/aws-lambda-enhances-sqs-processing-with-new-provisioned-mode-3x-faster-scaling-16x-higher-capacity/).
INVOKES_PER_EVENT_POLLER = 10
PROVISIONED_ADD_PER_MIN = 1_000
# EPU billing: "Pricing is calculated per second, with a 1-minute minimum"
# (https://aws.amazon.com/lambda/pricing/, Provisioned Mode for ESM).
EPU_MINIMUM_S = 60.0
# SQS in-flight quota: about 120,000 in-flight messages per standard queue (20,000 FIFO);
# at the quota a long-polling receive returns nothing (a short poll gets OverLimit).
# https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html
IN_FLIGHT_MAX_STANDARD = 120_000

# Asynchronous invocation (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html
# and invocation-async-configuring.html): after a function error Lambda retries "two more
# times, with a one-minute wait between the first two attempts, and two minutes between
# the second and third"; MaximumRetryAttempts 0-2; for throttles (429) and system errors
# "the retry interval increases exponentially from 1 second after the first attempt to a
# maximum of 5 minutes", for up to MaximumEventAgeInSeconds, 60 s to 6 hours (default).
ASYNC_RETRY_ATTEMPTS = (0, 2)
ASYNC_ERROR_RETRY_DELAYS_S = (60.0, 120.0)
ASYNC_THROTTLE_RETRY_FIRST_S = 1.0
ASYNC_THROTTLE_RETRY_MAX_S = 300.0
ASYNC_EVENT_AGE_S = (60.0, 21_600.0)

# SNS delivery to AWS managed endpoints (Lambda, SQS): "3 times, without delay; 2 times,
# 1 second apart; 10 times, with exponential backoff, from 1 second to 20 seconds; 100,000
# times, 20 seconds apart; 100,015 times, over 23 days", with jitter; the policy cannot be
# changed for these protocols (https://docs.aws.amazon.com/sns/latest/dg/sns-message-delivery-retries.html).
SNS_IMMEDIATE_ATTEMPTS = 3
SNS_PRE_BACKOFF = (2, 1.0)  # retries, seconds apart
SNS_BACKOFF = (10, 1.0, 20.0)  # retries, from, to (seconds)
SNS_POST_BACKOFF = (100_000, 20.0)
SNS_TOTAL_ATTEMPTS = 100_015
# EventBridge targets: "By default, EventBridge retries sending the event for 24 hours and
# up to 185 times with an exponential back off and jitter"; RetryPolicy
# MaximumRetryAttempts 0-185, MaximumEventAgeInSeconds 60-86,400; at most 5 targets a rule
# (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-retry-policy.html,
# https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_RetryPolicy.html,
# eb-quota.html).
EVENTBRIDGE_RETRY_ATTEMPTS = (0, 185)
EVENTBRIDGE_EVENT_AGE_S = (60.0, 86_400.0)
EVENTBRIDGE_TARGETS_PER_RULE = 5
# The back-off's base and cap are not documented: 1 s doubling to 480 s makes 185
# retries span about 24 hours (84,991 s), as documented (an assumption).
EVENTBRIDGE_BACKOFF_FIRST_S = 1.0
EVENTBRIDGE_BACKOFF_MAX_S = 480.0
