/*
 * proctitle.h — process titles visible in ps ("ringflow: transform 1").
 * The kernel shows /proc/PID/cmdline, which is the argv memory: we move the
 * environment out of the way once at start (rf_proctitle_init, in main,
 * before anything reads environ pointers) and overwrite that area.
 * PR_SET_NAME sets the 15-character comm as well, for top and pgrep.
 */
#ifndef SUP_PROCTITLE_H
#define SUP_PROCTITLE_H

void rf_proctitle_init(int argc, char **argv);
void rf_proctitle_set(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
