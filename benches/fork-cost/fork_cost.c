/*
 * fork_cost: what this machine's kernel takes to fork a process whose
 * memory is all touched, and to serve the child's copy-on-write faults
 * when it writes every page -- the real figures the simulator's `fork`
 * benches are set beside (benches/README.md).
 *
 * usage: fork_cost [-r ROUNDS] MIB...
 *
 * For each size it maps MIB mebibytes of private anonymous memory, writes
 * every page (so all are resident and mapped writable), then ROUNDS times
 * (default 5): times fork() in the parent, and in the child times a loop
 * that writes one byte in every page, one copy-on-write fault each. The
 * child sends its time and its count of minor faults back through a pipe.
 * It prints the median of each, one line per size.
 *
 * Huge pages are turned off for the region (MADV_NOHUGEPAGE), so a fault
 * copies one 4 KiB page as in the simulator, not 2 MiB.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct child_report {
	uint64_t write_ns;
	uint64_t minor_faults;
};

static uint64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static uint64_t minor_faults_so_far(void)
{
	struct rusage usage;
	getrusage(RUSAGE_SELF, &usage);
	return (uint64_t)usage.ru_minflt;
}

static int by_value(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

static uint64_t median(uint64_t *values, int n)
{
	qsort(values, (size_t)n, sizeof *values, by_value);
	return values[n / 2];
}

/* Writes one byte in each page; volatile so the compiler keeps every store. */
static void write_every_page(volatile char *region, size_t pages, size_t page_size, char value)
{
	for (size_t page = 0; page < pages; page++)
		region[page * page_size] = value;
}

static void measure(size_t mib, int rounds)
{
	size_t page_size = (size_t)sysconf(_SC_PAGESIZE);
	size_t bytes = mib << 20;
	size_t pages = bytes / page_size;
	char *region = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (region == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	if (madvise(region, bytes, MADV_NOHUGEPAGE) != 0)
		perror("madvise(MADV_NOHUGEPAGE), going on with the default");
	write_every_page(region, pages, page_size, 1);

	uint64_t fork_ns[rounds], write_ns[rounds], faults[rounds];
	for (int round = 0; round < rounds; round++) {
		int channel[2];
		if (pipe(channel) != 0) {
			perror("pipe");
			exit(1);
		}
		uint64_t before_fork = now_ns();
		pid_t pid = fork();
		if (pid < 0) {
			perror("fork");
			exit(1);
		}
		if (pid == 0) {
			struct child_report report;
			uint64_t faults_before = minor_faults_so_far();
			uint64_t start = now_ns();
			write_every_page(region, pages, page_size, 2);
			report.write_ns = now_ns() - start;
			report.minor_faults = minor_faults_so_far() - faults_before;
			if (write(channel[1], &report, sizeof report) != sizeof report)
				_exit(1);
			_exit(0);
		}
		fork_ns[round] = now_ns() - before_fork;
		struct child_report report;
		if (read(channel[0], &report, sizeof report) != sizeof report) {
			fprintf(stderr, "the child sent no report\n");
			exit(1);
		}
		waitpid(pid, NULL, 0);
		close(channel[0]);
		close(channel[1]);
		write_ns[round] = report.write_ns;
		faults[round] = report.minor_faults;
	}
	munmap(region, bytes);

	uint64_t fork_median = median(fork_ns, rounds);
	uint64_t write_median = median(write_ns, rounds);
	printf("%6zu MiB %8zu pages  fork %9.1f us  child writes %9.2f ms  %6.2f M faults/s  (%llu minor faults)\n",
	       mib, pages, fork_median / 1e3, write_median / 1e6, pages / (write_median / 1e9) / 1e6,
	       (unsigned long long)median(faults, rounds));
	fflush(stdout);
}

int main(int argc, char **argv)
{
	int rounds = 5;
	int first_size = 1;
	if (argc > 2 && strcmp(argv[1], "-r") == 0) {
		rounds = atoi(argv[2]);
		first_size = 3;
	}
	if (first_size >= argc || rounds < 1) {
		fprintf(stderr, "usage: %s [-r ROUNDS] MIB...\n", argv[0]);
		return 2;
	}
	for (int i = first_size; i < argc; i++)
		measure((size_t)strtoull(argv[i], NULL, 10), rounds);
	return 0;
}
