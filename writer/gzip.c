/*
 * gzip.c — see gzip.h. zlib's deflate with a gzip wrapper (windowBits 15+16);
 * the whole body is compressed in one deflate(Z_FINISH) call into a buffer
 * sized by deflateBound, so there is no output loop to get wrong.
 */
#include "writer/gzip.h"

#include <stdio.h>
#include <string.h>

int wr_gzip_init(struct wr_gzip *gz, int level, char *err, size_t errlen)
{
	memset(gz, 0, sizeof *gz);
	lp_buf_init(&gz->out);
	int rc = deflateInit2(&gz->zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
	if (rc != Z_OK) {
		snprintf(err, errlen, "deflateInit2(level %d): %s", level,
			 gz->zs.msg ? gz->zs.msg : zError(rc));
		return -1;
	}
	gz->ready = 1;
	return 0;
}

void wr_gzip_end(struct wr_gzip *gz)
{
	if (!gz)
		return;
	if (gz->ready)
		deflateEnd(&gz->zs);
	gz->ready = 0;
	lp_buf_free(&gz->out);
}

int wr_gzip_compress(struct wr_gzip *gz, const char *in, size_t len, char *err, size_t errlen)
{
	if (!gz->ready) {
		snprintf(err, errlen, "gzip stream not initialised");
		return -1;
	}
	/* zlib counts in uInt: a body beyond 4 GiB is not a sane batch. */
	if (len > 0xffffffffu - 4096) {
		snprintf(err, errlen, "gzip: body of %zu bytes is too large", len);
		return -1;
	}
	int rc = deflateReset(&gz->zs);
	if (rc != Z_OK) {
		snprintf(err, errlen, "deflateReset: %s", zError(rc));
		return -1;
	}
	uLong bound = deflateBound(&gz->zs, (uLong)len);
	lp_buf_reset(&gz->out);
	lp_buf_reserve(&gz->out, (size_t)bound);
	gz->zs.next_in = (Bytef *)(uintptr_t)in; /* zlib does not write through it */
	gz->zs.avail_in = (uInt)len;
	gz->zs.next_out = (Bytef *)gz->out.data;
	gz->zs.avail_out = (uInt)bound;
	rc = deflate(&gz->zs, Z_FINISH);
	if (rc != Z_STREAM_END) {
		snprintf(err, errlen, "deflate(%zu bytes): %s", len,
			 gz->zs.msg ? gz->zs.msg : zError(rc));
		return -1;
	}
	gz->out.len = (size_t)bound - gz->zs.avail_out;
	return 0;
}
