#!/usr/bin/env bash
# The crash-consistency fault test (test_checkpoint_faults.sh) with
# [input] assignment = group: Kafka's consumer group (cooperative sticky
# assignor, static membership) assigns the partitions, and every recovery
# path (park and rewind, data-plane restart, supervisor restart, re-sharding)
# must end with the same exact result.
RF_ASSIGNMENT=group exec bash "$(dirname "$0")/test_checkpoint_faults.sh"
