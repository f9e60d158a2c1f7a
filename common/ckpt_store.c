/*
 * ckpt_store.c — checkpoints in LMDB (see ckpt_store.h).
 *
 * Three named databases:
 *   meta     "format" -> u32 FORMAT_VERSION; "complete" -> struct complete_rec
 *   offsets  be64 id | be32 partition | topic bytes  -> int64 next offset
 *   state    be64 id | be32 owner                    -> snapshot blob
 * Big-endian ids make LMDB's byte order the numeric order, so "every entry
 * of checkpoint N" is one key range and pruning walks from the start.
 */
#include "common/ckpt_store.h"

#include <errno.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FORMAT_VERSION 1u
/* Address space only: the file grows with what is stored. */
#define MAP_SIZE ((size_t)64 << 30)

struct ckpt_store {
	MDB_env *env;
	MDB_dbi meta, offsets, state;
	char path[512];
};

struct complete_rec {
	uint32_t version;
	uint32_t pad;
	uint64_t id;
	int64_t completed_ns;
	int64_t duration_ns;
};

static int fail(char *err, size_t errlen, const struct ckpt_store *st, const char *what, int rc)
{
	const char *hint = "";
	if (rc == MDB_CORRUPTED || rc == MDB_PAGE_NOTFOUND || rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH)
		hint = " (the file is damaged: start ringflow with --reset-state to discard it; "
		       "window state and checkpointed offsets are lost)";
	snprintf(err, errlen, "checkpoint store %s: %s: %s%s", st ? st->path : "?", what, mdb_strerror(rc), hint);
	return -1;
}

static void put_be(uint8_t *p, uint64_t v, int bytes)
{
	for (int i = bytes - 1; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint64_t get_be(const uint8_t *p, int bytes)
{
	uint64_t v = 0;
	for (int i = 0; i < bytes; i++)
		v = v << 8 | p[i];
	return v;
}

static void store_path(char *buf, size_t len, const char *dir, const char *name, const char *suffix)
{
	snprintf(buf, len, "%s/%s.mdb%s", dir, name, suffix);
}

/* LMDB maps pages the meta page names; a file cut short would turn those
 * reads into SIGBUS, so compare the size with what the meta page claims. */
static int check_truncation(struct ckpt_store *st, char *err, size_t errlen)
{
	MDB_envinfo info;
	MDB_stat ms;
	struct stat sb;
	if (mdb_env_info(st->env, &info) || mdb_env_stat(st->env, &ms) || stat(st->path, &sb)) {
		snprintf(err, errlen, "checkpoint store %s: cannot read its size", st->path);
		return -1;
	}
	uint64_t need = ((uint64_t)info.me_last_pgno + 1) * ms.ms_psize;
	if ((uint64_t)sb.st_size < need) {
		snprintf(err, errlen, "checkpoint store %s is truncated (%lld bytes, needs %llu): start ringflow "
			 "with --reset-state to discard it; window state and checkpointed offsets are lost",
			 st->path, (long long)sb.st_size, (unsigned long long)need);
		return -1;
	}
	return 0;
}

static int open_dbs(struct ckpt_store *st, char *err, size_t errlen)
{
	MDB_txn *txn;
	int rc = mdb_txn_begin(st->env, NULL, 0, &txn);
	if (rc)
		return fail(err, errlen, st, "begin", rc);
	if ((rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &st->meta)) ||
	    (rc = mdb_dbi_open(txn, "offsets", MDB_CREATE, &st->offsets)) ||
	    (rc = mdb_dbi_open(txn, "state", MDB_CREATE, &st->state))) {
		mdb_txn_abort(txn);
		return fail(err, errlen, st, "open databases", rc);
	}
	MDB_val k = { 6, "format" }, v;
	rc = mdb_get(txn, st->meta, &k, &v);
	if (rc == MDB_NOTFOUND) {
		uint32_t fv = FORMAT_VERSION;
		v.mv_size = sizeof fv;
		v.mv_data = &fv;
		rc = mdb_put(txn, st->meta, &k, &v, 0);
	} else if (rc == 0) {
		uint32_t fv = 0;
		if (v.mv_size == sizeof fv)
			memcpy(&fv, v.mv_data, sizeof fv);
		if (fv != FORMAT_VERSION) {
			mdb_txn_abort(txn);
			snprintf(err, errlen, "checkpoint store %s has format %u, this ringflow reads %u: start "
				 "with --reset-state to discard it", st->path, fv, FORMAT_VERSION);
			return -1;
		}
	}
	if (rc) {
		mdb_txn_abort(txn);
		return fail(err, errlen, st, "format record", rc);
	}
	if ((rc = mdb_txn_commit(txn)))
		return fail(err, errlen, st, "commit", rc);
	return 0;
}

struct ckpt_store *ckpt_open(const char *dir, const char *name, char *err, size_t errlen)
{
	struct ckpt_store *st = calloc(1, sizeof *st);
	if (!st) {
		snprintf(err, errlen, "checkpoint store: out of memory");
		return NULL;
	}
	store_path(st->path, sizeof st->path, dir, name, "");
	int rc = mdb_env_create(&st->env);
	if (rc) {
		fail(err, errlen, st, "create", rc);
		free(st);
		return NULL;
	}
	mdb_env_set_maxdbs(st->env, 4);
	mdb_env_set_mapsize(st->env, MAP_SIZE);
	rc = mdb_env_open(st->env, st->path, MDB_NOSUBDIR | MDB_NOSYNC, 0600);
	if (rc) {
		fail(err, errlen, st, "open", rc);
		goto bad;
	}
	int dead;
	mdb_reader_check(st->env, &dead);
	if (check_truncation(st, err, errlen) || open_dbs(st, err, errlen))
		goto bad;
	return st;
bad:
	mdb_env_close(st->env);
	free(st);
	return NULL;
}

void ckpt_close(struct ckpt_store *st)
{
	if (!st)
		return;
	mdb_env_close(st->env);
	free(st);
}

int ckpt_remove(const char *dir, const char *name, char *err, size_t errlen)
{
	static const char *const suffix[] = { "", "-lock" };
	for (int i = 0; i < 2; i++) {
		char p[512];
		store_path(p, sizeof p, dir, name, suffix[i]);
		if (unlink(p) && errno != ENOENT) {
			snprintf(err, errlen, "cannot remove %s: %s", p, strerror(errno));
			return -1;
		}
	}
	return 0;
}

static int get_complete(struct ckpt_store *st, MDB_txn *txn, struct ckpt_info *info, char *err, size_t errlen)
{
	memset(info, 0, sizeof *info);
	MDB_val k = { 8, "complete" }, v;
	int rc = mdb_get(txn, st->meta, &k, &v);
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc)
		return fail(err, errlen, st, "read the completion record", rc);
	struct complete_rec r;
	if (v.mv_size != sizeof r) {
		snprintf(err, errlen, "checkpoint store %s: completion record has %zu bytes, expected %zu: start "
			 "with --reset-state to discard it", st->path, v.mv_size, sizeof r);
		return -1;
	}
	memcpy(&r, v.mv_data, sizeof r);
	info->id = r.id;
	info->completed_ns = r.completed_ns;
	info->duration_ns = r.duration_ns;
	return 0;
}

int ckpt_last_complete(struct ckpt_store *st, struct ckpt_info *info, char *err, size_t errlen)
{
	MDB_txn *txn;
	int rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn);
	if (rc)
		return fail(err, errlen, st, "begin", rc);
	int r = get_complete(st, txn, info, err, errlen);
	mdb_txn_abort(txn);
	return r;
}

static size_t offset_key(uint8_t *k, uint64_t id, const char *topic, int32_t partition)
{
	size_t tl = strnlen(topic, CKPT_TOPIC_MAX - 1);
	put_be(k, id, 8);
	put_be(k + 8, (uint32_t)partition, 4);
	memcpy(k + 12, topic, tl);
	return 12 + tl;
}

static int decode_offset(const MDB_val *k, const MDB_val *v, struct ckpt_offset *o)
{
	if (k->mv_size < 12 || k->mv_size >= 12 + CKPT_TOPIC_MAX || v->mv_size != sizeof(int64_t))
		return -1;
	const uint8_t *p = k->mv_data;
	o->partition = (int32_t)get_be(p + 8, 4);
	memcpy(o->topic, p + 12, k->mv_size - 12);
	o->topic[k->mv_size - 12] = '\0';
	memcpy(&o->next_offset, v->mv_data, sizeof o->next_offset);
	return 0;
}

/* Stores o unless the entry already holds a larger offset. */
static int put_offset_max(MDB_txn *txn, MDB_dbi dbi, uint64_t id, const struct ckpt_offset *o)
{
	uint8_t kb[12 + CKPT_TOPIC_MAX];
	MDB_val k = { offset_key(kb, id, o->topic, o->partition), kb }, v;
	int rc = mdb_get(txn, dbi, &k, &v);
	if (rc == 0 && v.mv_size == sizeof(int64_t)) {
		int64_t old;
		memcpy(&old, v.mv_data, sizeof old);
		if (old >= o->next_offset)
			return 0;
	} else if (rc != MDB_NOTFOUND && rc != 0) {
		return rc;
	}
	int64_t off = o->next_offset;
	v.mv_size = sizeof off;
	v.mv_data = &off;
	return mdb_put(txn, dbi, &k, &v, 0);
}

static int commit_or_fail(struct ckpt_store *st, MDB_txn *txn, int rc, const char *what, char *err, size_t errlen)
{
	if (rc) {
		mdb_txn_abort(txn);
		return fail(err, errlen, st, what, rc);
	}
	if ((rc = mdb_txn_commit(txn)))
		return fail(err, errlen, st, "commit", rc);
	return 0;
}

int ckpt_put_offsets(struct ckpt_store *st, uint64_t id, const struct ckpt_offset *offs, int n,
		     char *err, size_t errlen)
{
	MDB_txn *txn;
	int rc = mdb_txn_begin(st->env, NULL, 0, &txn);
	if (rc)
		return fail(err, errlen, st, "begin", rc);
	for (int i = 0; i < n && !rc; i++)
		rc = put_offset_max(txn, st->offsets, id, &offs[i]);
	return commit_or_fail(st, txn, rc, "store offsets", err, errlen);
}

int ckpt_put_state(struct ckpt_store *st, uint64_t id, uint32_t owner, const void *blob, size_t len,
		   char *err, size_t errlen)
{
	MDB_txn *txn;
	int rc = mdb_txn_begin(st->env, NULL, 0, &txn);
	if (rc)
		return fail(err, errlen, st, "begin", rc);
	uint8_t kb[12];
	put_be(kb, id, 8);
	put_be(kb + 8, owner, 4);
	MDB_val k = { sizeof kb, kb }, v = { len, NULL };
	/* MDB_RESERVE: copy the blob straight into its pages. */
	rc = mdb_put(txn, st->state, &k, &v, MDB_RESERVE);
	if (!rc)
		memcpy(v.mv_data, blob, len);
	return commit_or_fail(st, txn, rc, "store window state", err, errlen);
}

/* Walks every entry of dbi whose key starts with be64 id. */
typedef int (*walk_fn)(void *arg, const MDB_val *k, const MDB_val *v);

static int walk_id(MDB_txn *txn, MDB_dbi dbi, uint64_t id, walk_fn fn, void *arg, int *cb_rc)
{
	MDB_cursor *c;
	int rc = mdb_cursor_open(txn, dbi, &c);
	if (rc)
		return rc;
	uint8_t kb[8];
	put_be(kb, id, 8);
	MDB_val k = { sizeof kb, kb }, v;
	*cb_rc = 0;
	for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		if (k.mv_size < 8 || get_be(k.mv_data, 8) != id)
			break;
		if ((*cb_rc = fn(arg, &k, &v)) != 0)
			break;
	}
	mdb_cursor_close(c);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/* Runs walk_id over checkpoint id of dbi in a read transaction. An entry
 * callback returning -2 means a malformed entry; `what` names the kind. */
static int read_walk(struct ckpt_store *st, MDB_dbi dbi, uint64_t id, walk_fn entry, void *w,
		     const char *what, char *err, size_t errlen)
{
	MDB_txn *txn;
	int rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn);
	if (rc)
		return fail(err, errlen, st, "begin", rc);
	int cb_rc;
	rc = walk_id(txn, dbi, id, entry, w, &cb_rc);
	mdb_txn_abort(txn);
	if (rc) {
		char op[48];
		snprintf(op, sizeof op, "read %s", what);
		return fail(err, errlen, st, op, rc);
	}
	if (cb_rc == -2)
		snprintf(err, errlen, "checkpoint store %s: malformed %s entry in checkpoint %llu: start with "
			 "--reset-state to discard it", st->path, what, (unsigned long long)id);
	return cb_rc;
}

struct offset_walk {
	ckpt_offset_fn fn;
	void *arg;
};

static int offset_entry(void *arg, const MDB_val *k, const MDB_val *v)
{
	struct offset_walk *w = arg;
	struct ckpt_offset o;
	if (decode_offset(k, v, &o))
		return -2;
	return w->fn(w->arg, &o);
}

int ckpt_each_offset(struct ckpt_store *st, uint64_t id, ckpt_offset_fn fn, void *arg, char *err, size_t errlen)
{
	struct offset_walk w = { fn, arg };
	return read_walk(st, st->offsets, id, offset_entry, &w, "offsets", err, errlen);
}

struct state_walk {
	ckpt_state_fn fn;
	void *arg;
};

static int state_entry(void *arg, const MDB_val *k, const MDB_val *v)
{
	struct state_walk *w = arg;
	if (k->mv_size != 12)
		return -2;
	return w->fn(w->arg, (uint32_t)get_be((const uint8_t *)k->mv_data + 8, 4), v->mv_data, v->mv_size);
}

int ckpt_each_state(struct ckpt_store *st, uint64_t id, ckpt_state_fn fn, void *arg, char *err, size_t errlen)
{
	struct state_walk w = { fn, arg };
	return read_walk(st, st->state, id, state_entry, &w, "window state", err, errlen);
}

/* Deletes every entry of dbi whose checkpoint id is in [lo, hi]. */
static int prune(MDB_txn *txn, MDB_dbi dbi, uint64_t lo, uint64_t hi)
{
	MDB_cursor *c;
	int rc = mdb_cursor_open(txn, dbi, &c);
	if (rc)
		return rc;
	MDB_val k, v;
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		uint64_t id = k.mv_size >= 8 ? get_be(k.mv_data, 8) : 0;
		if (id >= lo && id <= hi && (rc = mdb_cursor_del(c, 0)))
			break;
	}
	mdb_cursor_close(c);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/* Offsets of the previous checkpoint, collected before they are copied. */
struct offset_list {
	struct ckpt_offset *v;
	int n, cap;
};

static int collect_offset(void *arg, const struct ckpt_offset *o)
{
	struct offset_list *l = arg;
	if (l->n == l->cap) {
		int cap = l->cap ? 2 * l->cap : 64;
		struct ckpt_offset *v = realloc(l->v, (size_t)cap * sizeof *v);
		if (!v)
			return ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = *o;
	return 0;
}

/* Copies the offsets of prev that checkpoint id lacks: nobody read those
 * partitions since prev, so prev's offsets still match the state. */
static int carry_forward(struct ckpt_store *st, MDB_txn *txn, uint64_t prev, uint64_t id)
{
	struct offset_list l = { 0 };
	struct offset_walk w = { collect_offset, &l };
	int cb_rc;
	int rc = walk_id(txn, st->offsets, prev, offset_entry, &w, &cb_rc);
	if (!rc && cb_rc == ENOMEM)
		rc = ENOMEM;
	for (int i = 0; !rc && i < l.n; i++) {
		uint8_t kb[12 + CKPT_TOPIC_MAX];
		MDB_val k = { offset_key(kb, id, l.v[i].topic, l.v[i].partition), kb };
		MDB_val v = { sizeof l.v[i].next_offset, &l.v[i].next_offset };
		rc = mdb_put(txn, st->offsets, &k, &v, MDB_NOOVERWRITE);
		if (rc == MDB_KEYEXIST)
			rc = 0;
	}
	free(l.v);
	return rc;
}

int ckpt_complete(struct ckpt_store *st, uint64_t id, uint64_t prev, const struct ckpt_info *info,
		  char *err, size_t errlen)
{
	/* The participants committed without fsync: make their data durable
	 * before a completion record can name it. */
	int rc = mdb_env_sync(st->env, 1);
	if (rc)
		return fail(err, errlen, st, "sync", rc);
	MDB_txn *txn;
	if ((rc = mdb_txn_begin(st->env, NULL, 0, &txn)))
		return fail(err, errlen, st, "begin", rc);
	if (prev && prev < id)
		rc = carry_forward(st, txn, prev, id);
	if (!rc && id > 1)
		rc = prune(txn, st->offsets, 1, id - 1);
	if (!rc && id > 1)
		rc = prune(txn, st->state, 1, id - 1);
	if (!rc) {
		struct complete_rec r = { FORMAT_VERSION, 0, id, info->completed_ns, info->duration_ns };
		MDB_val k = { 8, "complete" }, v = { sizeof r, &r };
		rc = mdb_put(txn, st->meta, &k, &v, 0);
	}
	if (commit_or_fail(st, txn, rc, "complete the checkpoint", err, errlen))
		return -1;
	if ((rc = mdb_env_sync(st->env, 1)))
		return fail(err, errlen, st, "sync", rc);
	return 0;
}

int ckpt_discard_after(struct ckpt_store *st, uint64_t id, char *err, size_t errlen)
{
	MDB_txn *txn;
	int rc = mdb_txn_begin(st->env, NULL, 0, &txn);
	if (rc)
		return fail(err, errlen, st, "begin", rc);
	rc = prune(txn, st->offsets, id + 1, UINT64_MAX);
	if (!rc)
		rc = prune(txn, st->state, id + 1, UINT64_MAX);
	return commit_or_fail(st, txn, rc, "discard incomplete checkpoints", err, errlen);
}
