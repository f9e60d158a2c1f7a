/*
 * metrics.h — the pipeline's own counters and gauges as points ([metrics],
 * metrics_config.c), written by writer 0 with its batch, so they are
 * batched, retried and stored beside the traffic. Everything is read from
 * the shared segment: every process's stats slot, every ring's fill, each
 * ingest's consumer lag, each analyzer's slot.
 *
 * Points (tag instance = [ringflow] name on every one; time = now):
 *   M,instance=I,role=R,index=N   <every counter of shm/stats.h>=Ni, pid=Ni
 *   M,instance=I,ring=FROM->TO    used_bytes=Ni,capacity_bytes=Ni   (FROM like ingest_0)
 *   M,instance=I,topic=T,partition=P  next_offset=Ni,high_watermark=Ni,lag=Ni
 *   M,instance=I,analyzer=A       <its counters>=Ni,alerts_<severity>=Ni,up=Ni
 */
#ifndef WR_METRICS_H
#define WR_METRICS_H

#include <stdint.h>

#include "pipeline/lineproto.h"
#include "pipeline/proc.h"

/* Appends the points to b; returns how many. */
uint32_t wr_metrics_append(const struct rf_proc *p, struct lp_buf *b, int64_t wall_ns);

#endif
