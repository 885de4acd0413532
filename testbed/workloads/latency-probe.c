// latency-probe: a stand-in for a latency-sensitive service. It issues requests at a fixed
// rate (open loop: each request has a scheduled start, so time spent waiting for the CPU
// counts against the request, as it would for a client), each request doing the same
// fixed amount of integer work, and prints once per interval a JSON line with the
// interval's request count and latency percentiles in microseconds:
//   {"ts":1764000000.000,"requests":1000,"p50_us":41.2,"p99_us":77.0,"max_us":140.3,
//    "service_p50_us":40.1,"service_p99_us":52.9}
// latency = completion - scheduled start; service = completion - actual start (the work
// alone, which cache and memory-bandwidth interference slow down).
// With --read FILE a request is instead one read of --block bytes at a random aligned
// offset of FILE (O_DIRECT with --direct): a storage-bound service, slowed by neighbours'
// IO, or by the page cache it loses to their memory.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop_requested;
static volatile uint64_t sink;

static void on_signal(int sig) {
	(void)sig;
	stop_requested = 1;
}

static uint64_t now_ns(clockid_t clock) {
	struct timespec ts;
	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void sleep_until(uint64_t deadline_ns) {
	struct timespec ts = {.tv_sec = deadline_ns / 1000000000ull, .tv_nsec = deadline_ns % 1000000000ull};
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR && !stop_requested)
		;
}

// One request: a fixed number of rounds of an xorshift generator, kept from being
// optimised away by the volatile sink.
static void do_work(uint64_t rounds) {
	uint64_t x = 88172645463325252ull;
	for (uint64_t i = 0; i < rounds; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
	}
	sink = x;
}

// One request of --read: a block at a random block-aligned offset.
struct reader {
	int fd;
	void *buf;
	uint64_t block, blocks, state;
};

static int read_block(struct reader *r) {
	r->state ^= r->state << 13;
	r->state ^= r->state >> 7;
	r->state ^= r->state << 17;
	off_t offset = (off_t)((r->state % r->blocks) * r->block);
	return pread(r->fd, r->buf, r->block, offset) == (ssize_t)r->block ? 0 : -1;
}

static int open_reader(struct reader *r, const char *path, uint64_t block, int direct) {
	r->fd = open(path, O_RDONLY | (direct ? O_DIRECT : 0));
	struct stat st;
	if (r->fd < 0 || fstat(r->fd, &st) < 0) {
		fprintf(stderr, "latency-probe: cannot read %s: %s\n", path, strerror(errno));
		return -1;
	}
	r->block = block;
	r->blocks = (uint64_t)st.st_size / block;
	r->state = 88172645463325252ull;
	// O_DIRECT needs a buffer aligned to the logical block size; a page covers every disk.
	if (r->blocks == 0 || block % 4096 != 0 || posix_memalign(&r->buf, 4096, block) != 0) {
		fprintf(stderr, "latency-probe: --block must be a multiple of 4096 no larger than %s\n", path);
		return -1;
	}
	return 0;
}

static int cmp_u64(const void *a, const void *b) {
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

// Nearest-rank percentile of a sorted array.
static double percentile_us(const uint64_t *sorted, size_t n, double p) {
	if (n == 0)
		return 0;
	size_t rank = (size_t)(p / 100.0 * (double)n + 0.999999);
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return (double)sorted[rank - 1] / 1000.0;
}

struct samples {
	uint64_t *latency, *service;
	size_t n, cap;
};

static int record(struct samples *s, uint64_t latency, uint64_t service) {
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 4096;
		uint64_t *l = realloc(s->latency, cap * sizeof(*l));
		if (!l)
			return -1;
		s->latency = l;
		uint64_t *v = realloc(s->service, cap * sizeof(*v));
		if (!v)
			return -1;
		s->service = v;
		s->cap = cap;
	}
	s->latency[s->n] = latency;
	s->service[s->n] = service;
	s->n++;
	return 0;
}

static void report(FILE *out, struct samples *s) {
	qsort(s->latency, s->n, sizeof(uint64_t), cmp_u64);
	qsort(s->service, s->n, sizeof(uint64_t), cmp_u64);
	double ts = (double)now_ns(CLOCK_REALTIME) / 1e9;
	fprintf(out,
		"{\"ts\":%.3f,\"requests\":%zu,\"p50_us\":%.1f,\"p99_us\":%.1f,\"max_us\":%.1f,"
		"\"service_p50_us\":%.1f,\"service_p99_us\":%.1f}\n",
		ts, s->n, percentile_us(s->latency, s->n, 50), percentile_us(s->latency, s->n, 99),
		percentile_us(s->latency, s->n, 100), percentile_us(s->service, s->n, 50),
		percentile_us(s->service, s->n, 99));
	fflush(out);
	s->n = 0;
}

static void usage(FILE *f) {
	fprintf(f, "usage: latency-probe [--rate REQ_PER_S] [--work ROUNDS | --read FILE [--block BYTES] [--direct]]\n"
		   "                     [--interval-ms MS] [--duration S] [--out FILE]\n"
		   "  --rate      requests per second, scheduled open loop (default 1000)\n"
		   "  --work      xorshift rounds per request (default 20000, some tens of microseconds)\n"
		   "  --read      a request reads one block of FILE at a random offset instead\n"
		   "  --block     bytes per read, a multiple of 4096 (default 4096)\n"
		   "  --direct    read with O_DIRECT, around the page cache\n"
		   "  --interval-ms  reporting interval (default 1000)\n"
		   "  --duration  seconds to run, 0 = until SIGTERM/SIGINT (default 0)\n"
		   "  --out       append reports to FILE instead of stdout\n");
}

static int parse_positive(const char *text, const char *name, double *out) {
	char *end;
	errno = 0;
	double v = strtod(text, &end);
	if (errno || *end || v < 0) {
		fprintf(stderr, "latency-probe: %s: not a non-negative number: %s\n", name, text);
		return -1;
	}
	*out = v;
	return 0;
}

int main(int argc, char **argv) {
	double rate = 1000, work = 20000, interval_ms = 1000, duration = 0, block = 4096;
	const char *out_path = NULL, *read_path = NULL;
	int direct = 0;
	static const struct option options[] = {
		{"rate", required_argument, NULL, 'r'},	       {"work", required_argument, NULL, 'w'},
		{"interval-ms", required_argument, NULL, 'i'}, {"duration", required_argument, NULL, 'd'},
		{"out", required_argument, NULL, 'o'},	       {"read", required_argument, NULL, 'f'},
		{"block", required_argument, NULL, 'b'},       {"direct", no_argument, NULL, 'D'},
		{"help", no_argument, NULL, 'h'},
		{0, 0, 0, 0},
	};
	int opt;
	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		int err = 0;
		switch (opt) {
		case 'r': err = parse_positive(optarg, "--rate", &rate); break;
		case 'w': err = parse_positive(optarg, "--work", &work); break;
		case 'i': err = parse_positive(optarg, "--interval-ms", &interval_ms); break;
		case 'd': err = parse_positive(optarg, "--duration", &duration); break;
		case 'o': out_path = optarg; break;
		case 'f': read_path = optarg; break;
		case 'b': err = parse_positive(optarg, "--block", &block); break;
		case 'D': direct = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
		if (err)
			return 2;
	}
	if (optind < argc || rate <= 0 || interval_ms <= 0) {
		usage(stderr);
		return 2;
	}
	struct reader reader = {.fd = -1};
	if (read_path && open_reader(&reader, read_path, (uint64_t)block, direct))
		return 1;
	FILE *out = stdout;
	if (out_path && !(out = fopen(out_path, "a"))) {
		fprintf(stderr, "latency-probe: cannot open %s: %s\n", out_path, strerror(errno));
		return 1;
	}
	// The default 50 us timer slack would add itself to every request's latency.
	prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);

	const uint64_t period_ns = (uint64_t)(1e9 / rate);
	const uint64_t interval_ns = (uint64_t)(interval_ms * 1e6);
	const uint64_t start = now_ns(CLOCK_MONOTONIC);
	const uint64_t end = duration > 0 ? start + (uint64_t)(duration * 1e9) : UINT64_MAX;
	uint64_t scheduled = start, next_report = start + interval_ns;
	struct samples samples = {0};

	while (!stop_requested && scheduled < end) {
		sleep_until(scheduled);
		if (stop_requested)
			break;
		uint64_t began = now_ns(CLOCK_MONOTONIC);
		if (!read_path) {
			do_work((uint64_t)work);
		} else if (read_block(&reader)) {
			fprintf(stderr, "latency-probe: read failed: %s\n", strerror(errno));
			return 1;
		}
		uint64_t done = now_ns(CLOCK_MONOTONIC);
		if (record(&samples, done - scheduled, done - began)) {
			fprintf(stderr, "latency-probe: out of memory\n");
			return 1;
		}
		// A late request does not move the schedule: the backlog shows up as latency.
		scheduled += period_ns;
		if (done >= next_report) {
			report(out, &samples);
			while (next_report <= done)
				next_report += interval_ns;
		}
	}
	if (samples.n > 0)
		report(out, &samples);
	return 0;
}
