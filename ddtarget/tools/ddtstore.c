/* ddtstore.c - offline administration of a local segment store: the
 * options, main(), and the store's figures (stats). ddtstore_files.c holds
 * the file commands (ingest, check, cat, and the recipes they keep),
 * ddtstore_maint.c its upkeep (scrub, the checkpoints), and
 * ddtstore_common.c what they all share (error lines, opening the store).
 * It links the segmenter and the store directly, with no daemon. */
#include "codec.h"
#include "ddterr.h"
#include "ddtstore_common.h"
#include "ddtstore_files.h"
#include "ddtstore_maint.h"
#include "fmt.h"
#include "store.h"
#include "store_dirs.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "unknown"
#endif

#define STORE_DEFAULT "./ddtstore-data"

static void print_help(FILE *f)
{
	fprintf(f,
"Usage: %s [OPTION]... COMMAND [ARG]...\n"
"Administer a local ddtarget segment store, offline.\n"
"\n"
"Commands:\n"
"  ingest PATH...   segment and store every regular file under PATH\n"
"  check PATH...    compare every file under PATH with what the store holds\n"
"  cat FILE         write the stored bytes of an ingested FILE to stdout\n"
"  stats            print the store's figures and its directories' health\n"
"  scrub            read and verify every fragment and segment, repairing\n"
"                   what erasure coding can rebuild\n"
"  checkpoint [STORE]\n"
"                   take a checkpoint of the store's metadata\n"
"  checkpoints [STORE]\n"
"                   list the checkpoints, oldest first\n"
"  restore-checkpoint [STORE [NAME]]\n"
"                   bring a stopped store back from checkpoint NAME (the\n"
"                   newest if none) after its index is lost; refused if\n"
"                   it would remove or shorten a backup under the\n"
"                   retention lock\n"
"\n"
"Options:\n"
"  -s, --store DIR  the store (default $DDTSTORE, else %s)\n"
"      --k K        data fragments per container of a new store\n"
"      --m M        parity fragments per container (0 if --k comes alone);\n"
"                   without --k a new store gets 4+2 when its data\n"
"                   directories are on separate file systems, else 8+1\n"
"      --codec NAME lz4 (default), zstd, gzfast or none\n"
"      --no-repair  scrub: report what is wrong, change nothing\n"
"      --rate MB    scrub: read at most MB megabytes a second\n"
"      --dir DIR    the checkpoint directory (default STORE/checkpoints)\n"
"      --keep N     checkpoints to keep, the oldest removed (default 7)\n"
"  -h, --help       show this help and exit\n"
"  -V, --version    show the version and exit\n"
"\n"
"A store remembers the k and m it was created with; open it with the same,\n"
"or without --k.\n"
"The checkpoint commands take the store as their first argument, or from\n"
"-s (then NAME comes first).\n"
"Exit status: 0 success, 1 runtime error, or a check or scrub that found a\n"
"problem (a scrub: one it could not repair),\n"
"2 usage error.\n",
		PROG, STORE_DEFAULT);
}

/* ---- stats ---- */

/* One line per directory of the store: its health and its file system's
 * use, as text to print once the store is closed. NULL if out of memory. */
static char *dir_lines(store *s)
{
	store_dir_info di[STORE_DIR_INFO_MAX];
	size_t cap = STORE_DIR_INFO_MAX * (PATH_MAX + 160), len = 0;
	char *out = malloc(cap), b[2][FMT_LEN], name[16];
	int n = STORE_DIR_INFO_MAX;

	if (!out || store_dir_status(s, di, &n) < 0) {
		free(out);
		return NULL;
	}
	out[0] = '\0';
	for (int i = 0; i < n && len < cap; i++) {
		if (di[i].index < 0)
			snprintf(name, sizeof(name), "root:");
		else
			snprintf(name, sizeof(name), "dir%d:", di[i].index);
		if (di[i].present)
			len += (size_t)snprintf(out + len, cap - len,
				"%-18s %s (ok; %d%% used, %s free of %s)\n",
				name, di[i].path, di[i].used_pct,
				fmt_bytes(di[i].free_bytes, b[0]),
				fmt_bytes(di[i].total_bytes, b[1]));
		else
			len += (size_t)snprintf(out + len, cap - len,
				"%-18s %s (PROBLEM: %s)\n", name, di[i].path,
				di[i].problem);
	}
	return out;
}

static int cmd_stats(const opts *o, int argc, char **argv)
{
	char b[6][FMT_LEN], *dirs, why[256];
	store_stats st;
	ddts_store h;
	store *s;
	int k, m, nd, rc, ret;

	(void)argv;
	if (argc != 0)
		return ddts_usage_error("stats: takes no arguments");
	ret = ddts_open_store(o, 0, &h);
	if (ret)
		return ret;
	s = h.s;
	ddterr_clear();
	rc = store_get_stats(s, &st);
	if (rc < 0) {
		ret = ddts_fail(rc, "check the store's index", "stats %s",
				o->root);
		ddts_close_store(&h, o->root);
		return ret;
	}
	store_geometry(s, &k, &m, &nd);
	store_geometry_why(s, why, sizeof(why));
	dirs = dir_lines(s);
	ret = ddts_close_store(&h, o->root);
	if (ret) {
		free(dirs);
		return ret;
	}
	printf("store:             %s\n", o->root);
	printf("geometry:          %d+%d over %d directories\n", k, m, nd);
	printf("                   (%s)\n", why);
	printf("segments:          %" PRIu64 " (%" PRIu64
	       " in the open container)\n", st.segments, st.open_segments);
	printf("containers:        %" PRIu64 " sealed\n", st.containers);
	printf("logical bytes:     %" PRIu64 " (%s)\n", st.logical_bytes,
	       fmt_bytes(st.logical_bytes, b[0]));
	printf("raw bytes:         %" PRIu64 " (%s)\n", st.raw_bytes,
	       fmt_bytes(st.raw_bytes, b[1]));
	printf("stored bytes:      %" PRIu64 " (%s)\n", st.stored_bytes,
	       fmt_bytes(st.stored_bytes, b[2]));
	printf("physical bytes:    %" PRIu64 " (%s)\n", st.physical_bytes,
	       fmt_bytes(st.physical_bytes, b[3]));
	printf("dedup ratio:       %s\n",
	       fmt_ratio(st.logical_bytes, st.raw_bytes, b[4]));
	printf("compression:       %s\n",
	       fmt_ratio(st.raw_bytes, st.stored_bytes, b[5]));
	printf("ec overhead:       %s\n",
	       fmt_ratio(st.physical_bytes, st.stored_bytes, b[0]));
	printf("index lookups:     %" PRIu64 "\n", st.index_lookups);
	printf("bloom negatives:   %" PRIu64 "\n", st.bloom_negatives);
	printf("cache hits:        %" PRIu64 "\n", st.cache_hits);
	printf("fragments rebuilt: %" PRIu64 "\n", st.fragments_rebuilt);
	if (dirs)
		fputs(dirs, stdout);
	free(dirs);
	return 0;
}

/* ---- main ---- */

static int parse_int(const char *name, const char *arg, int lo, int hi,
		     int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || end == arg || *end || v < lo || v > hi)
		return ddts_usage_error("%s '%s': need a whole number from "
					"%d to %d", name, arg, lo, hi);
	*out = (int)v;
	return 0;
}

int main(int argc, char **argv)
{
	enum { OPT_K = 256, OPT_M, OPT_CODEC, OPT_NO_REPAIR, OPT_RATE, OPT_DIR,
	       OPT_KEEP };
	static const struct option longopts[] = {
		{ "store", required_argument, NULL, 's' },
		{ "k", required_argument, NULL, OPT_K },
		{ "m", required_argument, NULL, OPT_M },
		{ "codec", required_argument, NULL, OPT_CODEC },
		{ "no-repair", no_argument, NULL, OPT_NO_REPAIR },
		{ "rate", required_argument, NULL, OPT_RATE },
		{ "dir", required_argument, NULL, OPT_DIR },
		{ "keep", required_argument, NULL, OPT_KEEP },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	static const struct {
		const char *name;
		int (*fn)(const opts *o, int argc, char **argv);
	} cmds[] = {
		{ "ingest", cmd_ingest },
		{ "check", cmd_check },
		{ "cat", cmd_cat },
		{ "stats", cmd_stats },
		{ "scrub", cmd_scrub },
		{ "checkpoint", cmd_checkpoint },
		{ "checkpoints", cmd_checkpoints },
		{ "restore-checkpoint", cmd_restore_checkpoint },
	};
	opts o = { .k = 0, .m = -1, .codec = CODEC_LZ4 };
	const char *env = getenv("DDTSTORE");
	size_t i;
	int c, rc;

	/* The store is the owner's alone (fio.h), RocksDB's files too. */
	umask(077);
	o.root = env && *env ? env : STORE_DEFAULT;
	opterr = 0;
	/* Options may come before or after the command (getopt permutes);
	 * a PATH that starts with '-' goes after "--". */
	while ((c = getopt_long(argc, argv, ":s:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (!*optarg)
				return ddts_usage_error("-s: empty store path");
			o.root = optarg;
			o.root_given = 1;
			break;
		case OPT_K:
			rc = parse_int("--k", optarg, 1, STORE_MAX_DIRS, &o.k);
			if (rc)
				return rc;
			break;
		case OPT_M:
			rc = parse_int("--m", optarg, 0, STORE_MAX_DIRS - 1,
				       &o.m);
			if (rc)
				return rc;
			break;
		case OPT_CODEC:
			o.codec = codec_from_name(optarg);
			if (o.codec < 0)
				return ddts_usage_error("--codec '%s': not "
							"one of lz4, zstd, "
							"gzfast, none", optarg);
			break;
		case OPT_NO_REPAIR:
			o.no_repair = 1;
			break;
		case OPT_RATE: {
			int mb;

			rc = parse_int("--rate", optarg, 1, 1000000, &mb);
			if (rc)
				return rc;
			o.rate = (uint64_t)mb * 1000000;
			break;
		}
		case OPT_DIR:
			if (!*optarg)
				return ddts_usage_error("--dir: empty path");
			o.ckpt_dir = optarg;
			break;
		case OPT_KEEP:
			rc = parse_int("--keep", optarg, 1, 10000, &o.keep);
			if (rc)
				return rc;
			break;
		case 'h':
			print_help(stdout);
			return 0;
		case 'V':
			printf("%s (ddtarget) %s\n", PROG, PACKAGE_VERSION);
			return 0;
		case ':':
			return ddts_usage_error("option '%s' needs an argument",
						argv[optind - 1]);
		default:
			if (optopt)
				return ddts_usage_error("unknown option '-%c'",
							optopt);
			return ddts_usage_error("unknown option '%s'",
						argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return ddts_usage_error("no command given");
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[optind], cmds[i].name) == 0)
			break;
	if (i == sizeof(cmds) / sizeof(cmds[0]))
		return ddts_usage_error("unknown command '%s'", argv[optind]);
	optind++;
	return cmds[i].fn(&o, argc - optind, argv + optind);
}
