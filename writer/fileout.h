/*
 * fileout.h — `[output] type = file`: line protocol appended to a file, or
 * written to stdout when path is "-". Runs in the writer process.
 *
 * The file is opened O_APPEND|O_CREAT (0644), so several writers and
 * restarts append rather than overwrite. Write errors (ENOSPC, EIO...) are
 * retried with backoff like a network failure; bytes are never dropped.
 */
#ifndef WR_FILEOUT_H
#define WR_FILEOUT_H

#include <stddef.h>
#include <stdint.h>

#include "writer/output.h"

struct wr_fileout;

/* Returns NULL with err set when the file cannot be opened. */
struct wr_fileout *wr_fileout_open(const char *path, char *err, size_t errlen);
void wr_fileout_close(struct wr_fileout *fo);  /* accepts NULL; closes the fd unless stdout */
/* Writes every byte of lp[0..len) (short writes and EINTR continue where
 * they stopped). WR_STOPPED only when *stop is set while writes fail; the
 * file may then end in part of the batch. Stdout closed by the reader gives
 * EPIPE (retried) only if the process ignores SIGPIPE, as the writer does. */
enum wr_result wr_fileout_deliver(struct wr_fileout *fo, const char *lp, size_t len,
				  uint32_t npoints, const volatile int *stop,
				  struct wr_report *rep);

#endif
