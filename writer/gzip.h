/*
 * gzip.h — gzip (RFC 1952) compression of one request body at a time, for
 * Content-Encoding: gzip on InfluxDB writes. Runs in the writer process.
 *
 * One struct wr_gzip per connection: the zlib stream and the output buffer
 * are kept and reset between batches, so steady-state compression allocates
 * nothing.
 */
#ifndef WR_GZIP_H
#define WR_GZIP_H

#include <stddef.h>
#include <zlib.h>

#include "pipeline/lineproto.h"

struct wr_gzip {
	z_stream zs;
	int ready;           /* deflateInit2 succeeded */
	struct lp_buf out;   /* the last compressed body */
};

/* level: 1 (fast) .. 9 (small). Returns 0 or -1 with err set. */
int wr_gzip_init(struct wr_gzip *gz, int level, char *err, size_t errlen);
/* Accepts a struct that was never initialised successfully (zeroed). */
void wr_gzip_end(struct wr_gzip *gz);
/* Compresses in[0..len) into gz->out (replacing what was there).
 * Returns 0 or -1 with err set. */
int wr_gzip_compress(struct wr_gzip *gz, const char *in, size_t len, char *err, size_t errlen);

#endif
