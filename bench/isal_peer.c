/*
 * The ISA-L reference row of `asynctx bench`: Intel ISA-L's xor_gen and
 * pq_gen on the same shapes as the asynctx kernel rows (sources, block size,
 * hot = the same buffers every call, cold = rotating over a region larger
 * than the caches), timed on this thread's CPU clock. Compiled by the bench
 * when a C compiler and libisal-dev are present; never part of the build.
 *
 * usage: isal_peer OP SOURCES BLOCK_BYTES hot|cold COLD_BYTES WARM_MS RUNS RUN_MS [auto|sse]
 * (auto: ISA-L's own dispatch, the widest SIMD this CPU has; sse: its 128-bit code, the
 * width WebAssembly SIMD has)
 * prints one line: {"gbps": G} (median of RUNS, source bytes per second / 1e9)
 */
#include <isa-l/raid.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double cpu_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  if (argc != 9 && argc != 10) {
    fprintf(stderr, "usage: %s xor|pq SOURCES BLOCK hot|cold COLD_BYTES WARM_MS RUNS RUN_MS [auto|sse]\n", argv[0]);
    return 2;
  }
  const int pq = strcmp(argv[1], "pq") == 0;
  const int k = atoi(argv[2]);
  const long len = atol(argv[3]);
  const int cold = strcmp(argv[4], "cold") == 0;
  const long coldBytes = atol(argv[5]);
  const double warmMs = atof(argv[6]);
  const int runs = atoi(argv[7]);
  const double runMs = atof(argv[8]);
  const int vects = k + (pq ? 2 : 1);
  const int sse = argc == 10 && strcmp(argv[9], "sse") == 0;
  int (*gen)(int, int, void **) = pq ? (sse ? pq_gen_sse : pq_gen) : (sse ? xor_gen_sse : xor_gen);
  if (k < 1 || len < 32 || len % 32 != 0 || runs < 1 || runs > 64) {
    fprintf(stderr, "isal_peer: sources >= 1, block a multiple of 32, runs 1..64\n");
    return 2;
  }
  /* Sets of blocks to rotate over: one when hot, enough to pass coldBytes when cold. */
  long sets = cold ? (coldBytes + (long)vects * len - 1) / ((long)vects * len) : 1;
  if (sets < 1) sets = 1;
  void ***arrays = malloc(sets * sizeof(void **));
  for (long s = 0; s < sets; s++) {
    arrays[s] = malloc(vects * sizeof(void *));
    for (int v = 0; v < vects; v++) {
      if (posix_memalign(&arrays[s][v], 64, len) != 0) return 1;
      unsigned char *p = arrays[s][v];
      for (long i = 0; i < len; i++) p[i] = (unsigned char)(i * 31 + v * 7 + s);
    }
  }
  double results[64];
  long set = 0;
  for (int r = -1; r < runs; r++) {
    const double budget = r < 0 ? warmMs : runMs;
    long calls = 0;
    const double t0 = cpu_ms();
    double t;
    do {
      gen(vects, (int)len, arrays[set]);
      if (++set == sets) set = 0;
      calls++;
      t = cpu_ms() - t0;
    } while (t < budget);
    if (r >= 0) results[r] = (double)calls * k * len / (t / 1e3) / 1e9;
  }
  qsort(results, runs, sizeof(double), cmp);
  printf("{\"gbps\": %.3f}\n", results[runs / 2]);
  return 0;
}
